"""Device selection and its messages; GPU answers are faked where this machine has no CUDA."""
import pytest

from gluon_resnet.compat import mx
from gluon_resnet.errors import UserError
from gluon_resnet.train import devices


def test_cpu_contexts():
    assert devices.contexts("", 3) == [mx.cpu(0), mx.cpu(1), mx.cpu(2)]
    with pytest.raises(UserError, match="--cpus must be >= 1"):
        devices.contexts("", 0)


def test_gpus_on_cpu_build_says_what_to_install(monkeypatch):
    monkeypatch.setattr(devices, "has_cuda", lambda: False)  # what the CPU wheel answers, on any install
    with pytest.raises(UserError, match="CPU build: pip install mxnet-cu112==1.9.1"):
        devices.contexts("0")


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(devices, "has_cuda", lambda: True)
    monkeypatch.setattr(mx.context, "num_gpus", lambda: 2)


def test_gpu_contexts(two_gpus):
    assert devices.contexts("0,1") == [mx.gpu(0), mx.gpu(1)]
    with pytest.raises(UserError, match=r"there is no GPU 3; MXNet sees 2 GPU\(s\), numbered 0-1"):
        devices.contexts("0,3")
    with pytest.raises(UserError, match="names a GPU twice"):
        devices.contexts("1,1")


def test_kvstore_and_dtype_rules(two_gpus):
    from gluon_resnet.train.workers import WorkerGroup
    gpus, cpus = devices.contexts("0,1"), devices.contexts("", 2)
    group = WorkerGroup("nccl", gpus)  # nccl and float16 are accepted on GPUs
    assert (group.kvstore, group.rank, group.size, group.is_writer) == ("nccl", 0, 1, True)
    devices.check_dtype("float16", gpus)
    with pytest.raises(UserError, match="nccl needs GPUs"):
        WorkerGroup("nccl", cpus)
    with pytest.raises(UserError, match="float16 needs GPUs"):
        devices.check_dtype("float16", cpus)
    assert devices.memory_used_mb(cpus) is None
