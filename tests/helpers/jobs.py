"""Launcher jobs of the tests (tests/cluster): start one on the digits, find its processes, wait for its end."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from leftovers import runtime_helper
from waiting import wait_until


def job_pids(mark, with_env=False):
    """{pid: DMLC_ROLE (or its whole environment)} of every live process carrying this job's marker, but
    multiprocessing's helpers (Python 3.14's resource tracker starts with a role's environment as it is then)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = dict(v.split("=", 1) for v in open(f"/proc/{pid}/environ").read().split("\0") if "=" in v)
        except OSError:
            continue
        if env.get("GLUON_RESNET_TEST_JOB") == mark and not runtime_helper(pid):
            found[int(pid)] = env.get("DMLC_ROLE") if not with_env else env
    return found


STARTED = []


@pytest.fixture(autouse=True)
def no_job_outlives_its_test():
    """Imported by a test module: after each test, what start_job started and still runs is killed (a failing
    test must not leave its job training in the background: it would slow every later one)."""
    yield
    while STARTED:
        proc, mark = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in job_pids(mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# The seconds a role has after SIGTERM in the tests' jobs (launch.py --stop-grace; 10 by default): the
# tests that stop a job wait for it.
GRACE = 2


def start_job(tmp_path, data_dir, *launch_args, epochs=1000, env=None, worker=()):
    """launch.py -n 2 --stop-grace GRACE training ResNet-8 on `data_dir` (the small CIFAR pack: 4 batches of 8
    per worker an epoch) for more epochs than a test lasts, returned once epoch 1 is saved. `worker`: what
    runs tools/train.py in each worker's python (e.g. hang_at.py's words)."""
    mark = f"{os.getpid()}-{time.time()}"
    save = tmp_path / "run"
    cmd = [sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--stop-grace", str(GRACE), "--env",
           f"GLUON_RESNET_TEST_JOB={mark}", *launch_args, "--", sys.executable, *worker,
           os.path.join(ROOT, "tools", "train.py"),
           "--kv-store", "dist_sync", "--data-dir", data_dir, "--n", "1", "--batch-size", "8",
           "--num-epochs", str(epochs), "--save-dir", str(save)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    STARTED.append((proc, mark))
    wait_until((save / "checkpoint-0001.json").exists, 120, "checkpoint of epoch 1",  # training is under way
               alive=lambda: proc.poll() is None, said=proc.communicate)
    return proc, mark, save


def ends_and_leaves_nothing(proc, mark, limit):
    start = time.time()
    out, err = proc.communicate(timeout=limit + 30)
    took = time.time() - start
    assert took < limit, (took, err[-2000:])
    time.sleep(0.5)
    assert job_pids(mark) == {}, "processes of the job are still running"
    return proc.returncode, out + err, took
