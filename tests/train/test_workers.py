"""WorkerGroup: W dist_sync workers take the steps one process takes on the union of their batches."""
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from gluon_resnet.compat import mx
from gluon_resnet.errors import JobError, UserError
from gluon_resnet.train.workers import WorkerGroup

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "helpers"))
import dist_steps  # noqa: E402


def _one_process_on_the_union():
    """The reference: one process, one device, the whole global batch per step. BatchNorm statistics
    are per worker in a dist job (as per device on one machine), so each worker's part gets its own
    forward pass; their gradients add up in the parameters' buffers (grad_req add)."""
    from gluon_resnet.train.steps import make_trainer
    net = dist_steps.build()
    trainer = make_trainer(net, replace(dist_steps.CFG, kv_store="device"), 10)
    for p in net.collect_params().values():
        if p.grad_req != "null":
            p.grad_req = "add"
    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    half = dist_steps.GLOBAL_BATCH // 2
    for x, y in dist_steps.batches():
        net.collect_params().zero_grad()
        for part in (slice(0, half), slice(half, None)):
            with mx.autograd.record():
                l = loss(net(x[part]), y[part])
            l.backward()
        trainer.step(dist_steps.GLOBAL_BATCH)
    return _trainable(net)


def _trainable(net):
    """Trainable parameters by the names save_parameters uses (running BN statistics are each worker's own)."""
    return {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items() if p.grad_req != "null"}


@pytest.mark.slow
@pytest.mark.parametrize("updates_on", ["workers", "servers"])
def test_two_dist_sync_workers_step_like_one_process_on_their_union(tmp_path, updates_on):
    """train.py's workers update on themselves; a worker script may leave the optimizer to the servers
    (update_on_kvstore=True), which then import MXNet's Python API to run it (cluster/kvstore_role.py)."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--",
                        sys.executable, os.path.join(ROOT, "tests", "helpers", "dist_steps.py"), str(tmp_path),
                        updates_on], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    ref = _one_process_on_the_union()
    init = _trainable(dist_steps.build())
    for rank in (0, 1):
        got = {k: v.asnumpy() for k, v in mx.nd.load(str(tmp_path / f"rank{rank}.params")).items() if k in ref}
        assert got.keys() == ref.keys()
        moved = np.sqrt(sum(((got[k] - init[k]) ** 2).sum() for k in ref))
        ref_moved = np.sqrt(sum(((ref[k] - init[k]) ** 2).sum() for k in ref))
        assert moved / ref_moved == pytest.approx(1.0, abs=1e-4)  # the bug this guards against gave 2.0
        for k in ref:
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=1e-5, err_msg=f"rank {rank}: {k}")


def test_one_process_is_a_group_of_one():
    group = WorkerGroup("device", [mx.cpu()])
    assert (group.rank, group.size, group.is_writer, group.dist) == (0, 1, True, False)
    assert group.grad_scale(128) == 128 and group.update_on_kvstore is None and group.hard_exit_after is None


def test_dist_kvstore_without_launcher(monkeypatch):
    for var in ("DMLC_ROLE", "DMLC_PS_ROOT_URI"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UserError, match="tools/launch.py -n WORKERS"):
        WorkerGroup("dist_sync", [mx.cpu()])
    with pytest.raises(UserError, match="dist_async is not supported"):
        WorkerGroup("dist_async", [mx.cpu()])


def test_check_in_sync_catches_a_worker_that_differs():
    """The servers add what the workers push, each in its own slot: a worker whose parameters differ shows."""
    from gluon_resnet import get_model
    net = get_model("cifar10", 1)
    params = [p.data().asnumpy().astype("float64") for p in net.collect_params().values() if p.grad_req != "null"]
    own = np.array([sum(a.sum() for a in params), sum((a * a).sum() for a in params)])

    class TwoWorkers:  # worker 0 pushed `other` into slot 0; pull returns the sum, as dist_sync servers do
        def __init__(self, other):
            self.other = np.concatenate([other, [0, 0]])

        def push(self, key, value):
            self.total = value.asnumpy() + self.other

        def pull(self, key, out):
            out[:] = mx.nd.array(self.total, dtype="float64")

    def group(other):
        g = WorkerGroup.__new__(WorkerGroup)
        g.name, g.rank, g.size, g.kvstore = "dist_sync", 1, 2, TwoWorkers(other)
        return g
    assert group(own).check_in_sync(net, mx.cpu(), 1) == pytest.approx(own[0])
    with pytest.raises(JobError, match="worker 1's parameters differ from the others' after epoch 3"):
        group(own + [1e-9, 0]).check_in_sync(net, mx.cpu(), 3)
