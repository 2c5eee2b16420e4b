"""Jobs started by Open MPI and by Slurm, for real, on this machine (conftest's mpi_env and slurm_env)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from gluon_resnet.cli.hints import python
from conftest import ROOT
from jobs import ends_and_leaves_nothing, job_pids, start_job
from jobs import no_job_outlives_its_test  # noqa: F401 (an autouse fixture)
from test_stall import STALL, stop_one_and_wait


@pytest.fixture(params=["mpi", "slurm"])
def cluster(request):
    env = request.getfixturevalue("mpi_env" if request.param == "mpi" else "slurm_env")
    return request.param, env, ["--launcher", request.param, "--host-ip", "127.0.0.1"]


@pytest.mark.slow
def test_cluster_launcher_trains(cluster, tmp_path, packed_digits):
    launcher, env, opts = cluster
    save = tmp_path / "run"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", *opts, "--",
                        sys.executable, os.path.join(ROOT, "tools", "train.py"), "--kv-store", "dist_sync",
                        "--data-dir", packed_digits, "--n", "1", "--batch-size", "64", "--num-epochs", "1",
                        "--save-dir", str(save)], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert f"({launcher}" in r.stdout + r.stderr and "the same on all 2 workers" in r.stderr
    assert json.load(open(save / "checkpoint-0001.json"))["config"]["workers"] == 2


@pytest.mark.slow
def test_cluster_launcher_trains_on_hosts_named_in_a_hostfile(cluster, tmp_path, packed_digits):
    """mpi: `localhost` and this host's name; slurm: its node by name (--nodelist). No --host-ip."""
    launcher, env, _ = cluster
    hosts = tmp_path / "hosts"
    node = subprocess.run(["hostname", "-s"], capture_output=True, text=True).stdout.strip()
    hosts.write_text(f"localhost\n{socket.gethostname()}\n" if launcher == "mpi" else f"{node}\n")
    save = tmp_path / "run"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--launcher", launcher,
                        "-H", str(hosts), "--", sys.executable, os.path.join(ROOT, "tools", "train.py"),
                        "--kv-store", "dist_sync", "--data-dir", packed_digits, "--n", "1", "--batch-size", "64",
                        "--num-epochs", "1", "--save-dir", str(save)], capture_output=True, text=True, timeout=300,
                       env=env, cwd=ROOT)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "scheduler on 127.0.0.1:" in r.stdout and "the same on all 2 workers" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["worker", "server"])
def test_cluster_launcher_ends_the_job_when_a_role_dies(cluster, victim, tmp_path, packed_cifar):
    launcher, env, opts = cluster
    proc, mark, save = start_job(tmp_path, packed_cifar, *opts, env=env)
    tasks = {p: r for p, r in job_pids(mark).items() if r == victim and _is_task(p)}
    os.kill(next(iter(tasks)), signal.SIGKILL)
    code, text, took = ends_and_leaves_nothing(proc, mark, 60)
    assert code == 1 and re.search(rf"{victim} \d on .* (exited with|was killed)", text), text[-2000:]
    assert f"stopped the whole job. Resume with: {python()} tools/launch.py" in text
    print(f"{launcher}: {victim} killed, launcher ended {took:.1f} s later")


@pytest.mark.slow
def test_cluster_launcher_ends_every_role_on_sigterm(cluster, tmp_path, packed_cifar):
    launcher, env, opts = cluster
    proc, mark, _ = start_job(tmp_path, packed_cifar, *opts, env=env)
    proc.send_signal(signal.SIGTERM)
    code, text, took = ends_and_leaves_nothing(proc, mark, 30)
    assert code == 128 + signal.SIGTERM and "SIGTERM received; stopping every role" in text
    print(f"{launcher}: SIGTERM, every role ended in {took:.1f} s")


@pytest.mark.slow
def test_a_stopped_worker_ends_an_mpi_or_slurm_job(cluster, tmp_path, packed_cifar):
    """tests/cluster/test_stall.py's case under mpirun and srun."""
    launcher, env, opts = cluster
    proc, mark, _ = start_job(tmp_path, packed_cifar, *STALL, *opts, env=env)
    _, took = stop_one_and_wait(proc, mark)
    print(f"{launcher}: a stopped worker ended the job {took:.1f} s later")


def _is_task(pid):
    """A role's own process (python), not the mpirun or srun client that started it."""
    try:
        return os.path.basename(open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode()).startswith("python")
    except OSError:
        return False
