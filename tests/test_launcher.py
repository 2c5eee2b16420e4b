"""dist_sync training over several worker processes on loopback, started by tools/launch.py."""
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, train_args

from gluon_resnet.errors import UserError
from gluon_resnet.training import fit, iters_per_epoch


@pytest.mark.slow
def test_two_workers_train_in_sync(tmp_path, packed_cifar):
    save = tmp_path / "run"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--",
                        sys.executable, os.path.join(ROOT, "tools", "train.py"), "--kv-store", "dist_sync",
                        "--data-dir", packed_cifar, "--n", "1", "--batch-size", "10", "--num-epochs", "2",
                        "--lr-step-epochs", "1", "--save-dir", str(save)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "on each of 2 workers" in r.stderr and "[worker 1] epoch   2/2" in r.stderr
    state = json.load(open(save / "checkpoint-0002.json"))
    # 60 images in two shards of 30, 10 per worker and step: 3 synchronous updates per epoch.
    assert state["num_update"] == 2 * iters_per_epoch(60, 10, 2) == 6
    rows = [json.loads(line) for line in open(save / "metrics.jsonl")]
    assert [r["epoch"] for r in rows] == [1, 2] and [r["lr"] for r in rows] == pytest.approx([0.1, 0.01])
    assert os.path.exists(save / "model-symbol.json")


def test_shards_run_equal_batch_counts():
    assert iters_per_epoch(50000, 128) == 391
    assert iters_per_epoch(61, 10, 2) == 3       # shards of 31 and 30: both run 3 batches
    assert iters_per_epoch(50000, 64, 2) == 391  # 25,000 per worker
    with pytest.raises(UserError, match="cannot be split over 5 workers"):
        iters_per_epoch(12, 4, 5)                # shards of 3: the fifth would be empty


def test_dist_kvstore_without_launcher(tmp_path, packed_cifar, monkeypatch):
    for var in ("DMLC_ROLE", "DMLC_PS_ROOT_URI"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UserError, match="tools/launch.py -n WORKERS"):
        fit(train_args("--data-dir", packed_cifar, "--kv-store", "dist_sync", "--save-dir", tmp_path / "r"))


def test_launch_needs_a_command():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "after --" in r.stderr
