"""dist_sync training over several worker processes on loopback, started by tools/launch.py."""
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from gluon_resnet.errors import UserError
from gluon_resnet.cli.hints import python, words
from gluon_resnet.train.steps import iters_per_epoch

from conftest import ROOT, start_sshd
from jobs import GRACE, ends_and_leaves_nothing, job_pids, start_job
from jobs import no_job_outlives_its_test  # noqa: F401 (an autouse fixture)
from waiting import wait_until


@pytest.mark.slow
def test_two_workers_train_in_sync(tmp_path, packed_cifar):
    save = tmp_path / "run"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--",
                        sys.executable, os.path.join(ROOT, "tools", "train.py"), "--kv-store", "dist_sync",
                        "--data-dir", packed_cifar, "--n", "1", "--batch-size", "10", "--num-epochs", "2",
                        "--lr-step-epochs", "1", "--save-dir", str(save)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2 workers, batch 10 per worker, 20 per update" in r.stderr and "[worker 1] epoch   2/2" in r.stderr
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


def _weights(path):
    from gluon_resnet.compat import mx
    return {k: v.asnumpy() for k, v in mx.nd.load(str(path)).items() if "running" not in k}


@pytest.mark.slow
def test_two_workers_of_64_move_the_weights_as_one_process_of_128(tmp_path, packed_digits):
    """The digits, one epoch, no momentum or weight decay: 2 dist_sync workers x 64 images and one
    process x 128 take steps of the same size (the shards give other batches, so not the same steps)."""
    import numpy as np

    from gluon_resnet.compat import mx
    from gluon_resnet.model.resnet import ModelSpec
    common = ["--data-dir", packed_digits, "--n", "1", "--num-epochs", "1", "--mom", "0", "--wd", "0",
              "--lr-step-epochs", ""]
    one = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train.py"), *common, "--batch-size", "128",
                          "--save-dir", str(tmp_path / "one")], capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--",
                          sys.executable, os.path.join(ROOT, "tools", "train.py"), *common, "--kv-store", "dist_sync",
                          "--batch-size", "64", "--save-dir", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-2000:]
    mx.random.seed(0)
    np.random.seed(0)
    net = ModelSpec("cifar", 1).build(ctx=[mx.cpu()])  # the weights both runs started from (seed 0)
    init = {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items() if "running" not in k}
    moved = {}
    for name in ("one", "two"):
        w = _weights(tmp_path / name / "checkpoint-0001.params")
        moved[name] = float(np.sqrt(sum(((w[k] - init[k]) ** 2).sum() for k in init)))
    json.dump(moved, open(tmp_path / "moved.json", "w"))
    print(f"weight change: 2 workers x 64 {moved['two']:.4f}, 1 process x 128 {moved['one']:.4f}, "
          f"ratio {moved['two'] / moved['one']:.3f}")
    assert 0.8 < moved["two"] / moved["one"] < 1.25  # W times too large gave 1.89


def test_the_scheduler_port_is_never_one_the_kernel_hands_out():
    """ps-lite's scheduler failed with "bind failed" when srun's outgoing connections took its port first."""
    from gluon_resnet.cluster.addresses import _ephemeral_ports, free_port
    low, high = _ephemeral_ports()
    for _ in range(20):
        port = free_port()
        assert port >= 10000 and not low <= port <= high, port
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_interface_addresses_are_those_iproute2_shows():
    from gluon_resnet.cluster.addresses import interface_addresses
    shown = {}
    for line in subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        fields = line.split()
        shown.setdefault(fields[1], fields[3].split("/")[0])  # "1: lo    inet 127.0.0.1/8 scope host lo"
    found = interface_addresses()
    assert found == shown and found["lo"] == "127.0.0.1", (found, shown)


def test_launch_needs_a_command():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "after --" in r.stderr


# ---------------------------------------------------------------- failures end the whole job

@pytest.mark.parametrize("victim", ["worker", "server"])
def test_a_killed_role_ends_the_job_and_resume_works(tmp_path, packed_cifar, victim):
    proc, mark, save = start_job(tmp_path, packed_cifar)
    pid = next(p for p, role in job_pids(mark).items() if role == victim)
    os.kill(pid, signal.SIGKILL)
    code, text, took = ends_and_leaves_nothing(proc, mark, 60)
    assert code != 0 and f"{victim} " in text and "was killed by SIGKILL; stopped the whole job" in text
    hint = re.search(r"Resume with: (.*)", text).group(1)
    py = python()  # the interpreter that ran the tools: the hint runs as printed
    assert hint == (f"{py} tools/launch.py -n 2 --stop-grace {GRACE} --env GLUON_RESNET_TEST_JOB={mark} -- {py} "
                    f"tools/train.py --save-dir {save} --resume")
    print(f"{victim} killed: launcher ended {took:.1f} s later")
    done = max(int(f[11:15]) for f in os.listdir(save) if f.startswith("checkpoint-") and f.endswith(".json"))
    state = json.load(open(save / f"checkpoint-{done:04d}.json"))  # rank 0's last checkpoint is complete
    # train.py prints the same text, generated from the same saved config.
    from gluon_resnet.runs.config import TrainConfig
    launch = f"{py} tools/launch.py -n 2 --stop-grace {GRACE} --env GLUON_RESNET_TEST_JOB={mark} --"
    assert TrainConfig.from_dict(state["config"]).resume_command(launch).shown(words) == hint
    # The hint, run as printed, only a longer run asked for.
    r = subprocess.run(f"{hint} --num-epochs {done + 1}", shell=True, capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"resuming {save} after epoch {done}" in r.stderr


def test_sigterm_to_the_launcher_ends_every_role(tmp_path, packed_cifar):
    unset = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")}
    proc, mark, _ = start_job(tmp_path, packed_cifar, env=unset)
    envs = job_pids(mark, with_env=True).values()
    assert {e["DMLC_ROLE"] for e in envs} >= {"scheduler", "server", "worker"}
    assert {e["GLUON_RESNET_STOP_GRACE"] for e in envs} == {str(GRACE)}  # --stop-grace reaches every role
    # Two local workers share the cores: each gets half (the user set no thread count).
    from gluon_resnet.threads import cores
    assert {e["OMP_NUM_THREADS"] for e in envs if e["DMLC_ROLE"] == "worker"} == {str(max(1, cores() // 2))}
    proc.send_signal(signal.SIGTERM)
    code, text, took = ends_and_leaves_nothing(proc, mark, 30)
    assert code == 128 + signal.SIGTERM and "SIGTERM received; stopping every role" in text
    print(f"SIGTERM: every role ended in {took:.1f} s")


def test_killing_the_launcher_itself_leaves_nothing(tmp_path, packed_cifar):
    proc, mark, _ = start_job(tmp_path, packed_cifar)
    proc.kill()
    proc.wait()
    wait_until(lambda: not job_pids(mark), 15, "end of the roles of a launcher killed with SIGKILL")


def test_a_worker_blocked_in_the_kvstore_still_exits_on_sigterm(tmp_path, packed_cifar):
    """Kill one worker's server side: the other blocks in a push. SIGTERM still ends it (alarm watchdog)."""
    proc, mark, _ = start_job(tmp_path, packed_cifar)
    pids = job_pids(mark)
    os.kill(proc.pid, signal.SIGSTOP)  # keep the launcher from cleaning up, to see the worker alone
    try:
        os.kill(next(p for p, r in pids.items() if r == "server"), signal.SIGKILL)
        time.sleep(2)  # the workers are now blocked in the kvstore
        workers = [p for p, r in pids.items() if r == "worker"]
        for p in workers:
            os.kill(p, signal.SIGTERM)
        wait_until(lambda: not any(os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"
                                   for p in workers), 20, "end of the blocked workers after SIGTERM")
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    ends_and_leaves_nothing(proc, mark, 60)


def test_workers_end_each_epoch_with_identical_parameters(tmp_path, packed_digits):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--",
                        sys.executable, os.path.join(ROOT, "tools", "train.py"), "--kv-store", "dist_sync",
                        "--data-dir", packed_digits, "--n", "1", "--batch-size", "64", "--num-epochs", "2",
                        "--save-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "2 workers, batch 64 per worker, 128 per update (the gradients of all workers are averaged)" in r.stderr
    for epoch in (1, 2):
        sums = re.findall(rf"(\[worker 1\] )?epoch {epoch}: parameter checksum (\S+), the same on all 2 workers",
                          r.stderr)
        assert len(sums) == 2 and sums[0][1] == sums[1][1], sums  # rank 0 and rank 1, one number


def test_hostfile_format(tmp_path):
    from gluon_resnet.cluster.hosts import read_hostfile
    f = tmp_path / "hosts"
    f.write_text("node1\nnode2:2222 slots=4\n\n# comment\n127.0.0.1:22\n")
    assert read_hostfile(str(f)) == [("node1", 22), ("node2", 2222), ("127.0.0.1", 22)]
    f.write_text("node1:ssh\n")
    with pytest.raises(UserError, match="line 1: 'node1:ssh' is not host or host:port"):
        read_hostfile(str(f))


# ---------------------------------------------------------------- ssh, against a real sshd on loopback

def test_ssh_launcher_trains_through_a_real_sshd_on_hosts_named_as_clusters_name_them(tmp_path, packed_digits, sshd):
    """A hostfile of names (not addresses): ps-lite binds DMLC_NODE_HOST, so each name must become an
    address; the roles go to the hosts in turn, so both names carry a role. No --host-ip either."""
    config, port = sshd
    hosts = tmp_path / "hosts"
    hosts.write_text(f"localhost:{port}\n{socket.gethostname()}:{port}\n")
    save = tmp_path / "run"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "-H", str(hosts),
                        "--launcher", "ssh", "--ssh-config", config, "--",
                        sys.executable, os.path.join(ROOT, "tools", "train.py"), "--kv-store", "dist_sync",
                        "--data-dir", packed_digits, "--n", "1", "--batch-size", "64", "--num-epochs", "1",
                        "--save-dir", str(save)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    text = r.stdout + r.stderr
    assert "(ssh)" in text and "2 workers, batch 64 per worker" in text and "the same on all 2 workers" in text
    assert json.load(open(save / "checkpoint-0001.json"))["epoch"] == 1


@pytest.mark.parametrize("launcher,tool", [("slurm", "srun"), ("mpi", "mpirun")])
def test_cluster_launchers_say_what_is_missing(launcher, tool, tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--launcher", launcher,
                        "--", sys.executable, "-c", "pass"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PATH": str(tmp_path)})
    assert r.returncode == 2 and f"starts the roles with {tool}, which is not on this host's PATH" in r.stderr


def test_ssh_job_ends_everywhere_when_a_remote_worker_dies(tmp_path, packed_cifar, sshd):
    """The remote roles (here: processes under the loopback sshd) end with the job: none is left. They get
    no thread settings from the launcher's host: each program sets its own host's."""
    config, port = sshd
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1:{port}\n")
    unset = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "KMP_BLOCKTIME")}
    proc, mark, _ = start_job(tmp_path, packed_cifar, "-H", str(hosts), "--launcher", "ssh", "--ssh-config", config,
                           "--host-ip", "127.0.0.1", env=unset)
    envs = job_pids(mark, with_env=True)
    roles = {pid: env["DMLC_ROLE"] for pid, env in envs.items()}
    assert set(roles.values()) == {"scheduler", "server", "worker"}
    passed = {(env["DMLC_ROLE"], k) for env in envs.values() for k in ("OMP_NUM_THREADS", "KMP_BLOCKTIME")
              if k in env and env["DMLC_ROLE"] != "scheduler"}  # the scheduler runs on the launcher's host
    assert not passed, passed
    os.kill(next(p for p, r in roles.items() if r == "worker"), signal.SIGKILL)
    code, text, took = ends_and_leaves_nothing(proc, mark, 60)
    assert code == 1 and re.search(r"worker \d on 127.0.0.1 exited with 255; stopped the whole job", text)  # ssh's 255
    print(f"ssh worker killed: launcher ended {took:.1f} s later, no remote process left")


def _host_keyed_sshd(tmp_path, sshd, strict=None):
    """A second sshd of the fixture's kind on its own port with a host key made here, and a client config
    that remembers host keys in a known_hosts of its own (the launcher's policy applies unless `strict`)."""
    from gluon_resnet.cluster.addresses import free_port
    d = pathlib.Path(sshd[0]).parent
    key = tmp_path / "host_key_a"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    port = free_port()
    config = tmp_path / "ssh_config"
    config.write_text(f"Host *\n  IdentityFile {d / 'client_key'}\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {tmp_path / 'known_hosts'}\n"
                      + (f"  StrictHostKeyChecking {strict}\n" if strict else ""))
    (tmp_path / "hosts").write_text(f"localhost:{port}\n")
    return d, port, config, start_sshd(d, port, key)


def _launch_digits(tmp_path, config, save, packed_digits, sshd_proc=None):
    """A 1-worker ssh job training the digits for an epoch; `sshd_proc` is stopped after it."""
    try:
        return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "1", "-H",
                               str(tmp_path / "hosts"), "--launcher", "ssh", "--ssh-config", str(config), "--",
                               sys.executable, os.path.join(ROOT, "tools", "train.py"), "--kv-store", "dist_sync",
                               "--data-dir", packed_digits, "--n", "1", "--batch-size", "64", "--num-epochs", "1",
                               "--save-dir", str(save)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    finally:
        if sshd_proc:
            sshd_proc.terminate()
            sshd_proc.wait(timeout=10)


def _refused(r):
    """The one `error:` line of a command refused as bad input (exit 2)."""
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.returncode == 2 and len(errors) == 1, r.stderr[-2000:]
    return errors[0]


@pytest.mark.slow
def test_ssh_remembers_a_new_host_and_refuses_it_when_its_key_changes(tmp_path, packed_digits, sshd):
    """First contact: the key is remembered (accept-new) and the job runs. The sshd then comes back on
    the same port with another host key: one line naming the host and what to run, nothing started."""
    d, port, config, proc = _host_keyed_sshd(tmp_path, sshd)
    first = _launch_digits(tmp_path, config, tmp_path / "first", packed_digits, proc)
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    remembered = (tmp_path / "known_hosts").read_text()
    assert (tmp_path / "host_key_a.pub").read_text().split()[1] in remembered
    other = tmp_path / "host_key_b"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    second = _launch_digits(tmp_path, config, tmp_path / "second", packed_digits,
                            start_sshd(d, port, other))  # the same host and port, another host key
    error = _refused(second)
    assert f"the host key of localhost:{port} changed" in error and "nothing was started" in error
    assert f"ssh-keygen -f {tmp_path / 'known_hosts'} -F '[localhost]:{port}'" in error
    assert f"ssh-keyscan -p {port} localhost" in error
    assert not (tmp_path / "second").exists() and "launch: scheduler" not in second.stdout
    assert (tmp_path / "known_hosts").read_text() == remembered
    # the command it names finds the remembered key (Debian's ssh_config hashes the host names)
    shown = subprocess.run(["ssh-keygen", "-f", str(tmp_path / "known_hosts"), "-F", f"[localhost]:{port}"],
                           capture_output=True, text=True)
    assert (tmp_path / "host_key_a.pub").read_text().split()[1] in shown.stdout


def test_ssh_config_that_asks_for_strict_checking_wins(tmp_path, packed_digits, sshd):
    """StrictHostKeyChecking yes in the user's config: an unknown host is refused in one line."""
    _, port, config, proc = _host_keyed_sshd(tmp_path, sshd, strict="yes")
    error = _refused(_launch_digits(tmp_path, config, tmp_path / "run", packed_digits, proc))
    assert f"localhost:{port} is not in ssh's known_hosts and your ssh_config asks for strict checking" in error
    assert not (tmp_path / "run").exists() and not (tmp_path / "known_hosts").exists()


def test_a_host_ssh_cannot_log_in_to_is_one_line_before_anything_starts(tmp_path):
    from gluon_resnet.cluster.addresses import free_port
    port = free_port()  # nothing listens there
    (tmp_path / "hosts").write_text(f"localhost:{port}\n")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "1", "-H", str(tmp_path / "hosts"),
                        "--launcher", "ssh", "--", sys.executable, "-c", "pass"], capture_output=True, text=True,
                       timeout=120)
    error = _refused(r)
    assert f"ssh cannot log in to localhost:{port} (" in error and "Connection refused" in error
    assert "nothing was started" in error and "launch: scheduler" not in r.stdout


def test_host_names_become_addresses_and_a_name_that_does_not_resolve_is_one_line(tmp_path):
    from gluon_resnet.cluster.addresses import node_addresses
    here = socket.gethostname()
    assert node_addresses([("localhost", 22), (here, 22)], "127.0.0.1") == {"localhost": "127.0.0.1",
                                                                           here: "127.0.0.1"}
    assert node_addresses([(here, 22)], "10.1.2.3") == {here: "10.1.2.3"}  # this host, in a job with others
    with pytest.raises(UserError, match=r"host 'node-that-is-not\.invalid' of the hostfile does not resolve"):
        node_addresses([("node-that-is-not.invalid", 22)], "10.1.2.3")
    hosts = tmp_path / "hosts"
    hosts.write_text("localhost\nnode-that-is-not.invalid\n")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "1", "-H", str(hosts),
                        "--launcher", "mpi", "--host-ip", "127.0.0.1", "--", "true"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and r.stderr.count("error: ") == 1 and "does not resolve" in r.stderr, r.stderr
    assert "launch: scheduler" not in r.stdout  # refused before any role started


def test_scheduler_address_is_never_loopback_for_remote_hosts(monkeypatch):
    from gluon_resnet.cluster import addresses
    assert addresses.scheduler_address(None, here_only=True) == "127.0.0.1"
    assert addresses.scheduler_address([("localhost", 22), ("127.0.0.1", 2222)]) == "127.0.0.1"
    monkeypatch.setattr(addresses, "is_this_host", lambda host: False)
    monkeypatch.setattr(addresses, "route_to", lambda host: "127.0.1.1")  # what a stock Debian hostname gives
    assert addresses.scheduler_address([("node1", 22)], interfaces={"lo": "127.0.0.1", "eth0": "10.1.2.3"}) == "10.1.2.3"
    assert addresses.scheduler_address(None, interfaces={"lo": "127.0.0.1", "ib0": "192.168.7.1"}) == "192.168.7.1"
    with pytest.raises(UserError, match="only loopback\\); pass --host-ip"):
        addresses.scheduler_address([("node1", 22)], interfaces={"lo": "127.0.0.1"})
    monkeypatch.setattr(addresses, "route_to", lambda host: "10.9.8.7")
    assert addresses.scheduler_address([("node1", 22)], interfaces={"lo": "127.0.0.1"}) == "10.9.8.7"


def test_mpirun_and_srun_command_lines():
    from gluon_resnet.cluster.backends import mpirun_command, srun_command
    assert mpirun_command("openmpi", ["A", "B"], ["python", "x.py"], "node2") == \
        ["mpirun", "-n", "1", "--bind-to", "none", "--host", "node2", "-x", "A", "-x", "B", "python", "x.py"]
    assert mpirun_command("mpich", ["A", "B"], ["python"]) == ["mpirun", "-n", "1", "-genvlist", "A,B", "python"]
    assert srun_command("j", ["python"]) == ["srun", "--ntasks=1", "--nodes=1", "--job-name=j",
                                             "--kill-on-bad-exit=1", "python"]
    assert "--nodelist=n3" in srun_command("j", ["python"], "n3") and "--overlap" in srun_command("j", [], None, True)


def test_env_takes_mxnet_name_colon_value_too():
    from gluon_resnet.cli.launch import parse_env
    assert parse_env(["A=1", "DMLC_INTERFACE:eth0", "B=x:y"]) == {"A": "1", "DMLC_INTERFACE": "eth0", "B": "x:y"}
    with pytest.raises(UserError, match="write it as NAME=VALUE"):
        parse_env(["no value"])


def test_a_job_that_fails_before_any_epoch_says_to_run_the_same_command(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", "--",
                        sys.executable, os.path.join(ROOT, "tools", "train.py"), "--kv-store", "dist_sync",
                        "--data-dir", str(tmp_path / "nowhere"), "--n", "1"], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 1 and "--resume" not in r.stderr, r.stderr
    assert r.stderr.splitlines()[-1].endswith("stopped the whole job. Fix what is named above and run the same "
                                              "command again"), r.stderr


@pytest.mark.parametrize("how", ["environment", "--env"])
def test_an_unknown_openmp_runtime_is_one_line_before_any_role_starts(tmp_path, how):
    env = {**os.environ, "GLUON_RESNET_OPENMP": "llvm"} if how == "environment" else dict(os.environ)
    extra = ["--env", "GLUON_RESNET_OPENMP=llvm"] if how == "--env" else []
    marker = tmp_path / "started"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "1", *extra, "--",
                        sys.executable, "-c", f"open({str(marker)!r}, 'w')"], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path, env=env)
    assert r.returncode == 1 and not marker.exists(), r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: GLUON_RESNET_OPENMP='llvm': use one of intel, gnu (or leave it unset: intel)"], r.stderr
