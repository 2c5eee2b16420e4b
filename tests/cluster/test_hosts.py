"""Jobs across test hosts with their own addresses (network namespaces joined by veth links, conftest's
netns_hosts), reached over ssh: training, and a host cut off."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from jobs import job_pids, start_job
from jobs import no_job_outlives_its_test  # noqa: F401 (an autouse fixture)
from test_stall import STALL, stop_one_and_wait, workers


def _hostfile(tmp_path, netns_hosts):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("".join(f"{name}\n" for name in netns_hosts.names))  # by name, as clusters name them
    return ["-H", str(hostfile), "--launcher", "ssh", "--ssh-config", str(netns_hosts.config)]


@pytest.mark.slow
def test_two_hosts_of_their_own_train_as_one_process_with_no_false_alarm(tmp_path, packed_digits, netns_hosts):
    """8 epochs across two network namespaces (workers and servers talk over the veth links) with both
    hosts busy: no ssh session misses 3 keepalives in a row at 1 s apart (the test hosts' ssh config: a
    tighter bound than the default 5 s), the stall check (its defaults) never warns, and the final error is
    that of one process on the same batches."""
    common = ["--data-dir", packed_digits, "--n", "1", "--num-epochs", "8", "--lr-step-epochs", "4,6"]
    started = time.time()
    two = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2",
                          *_hostfile(tmp_path, netns_hosts), "--", sys.executable, os.path.join(ROOT, "tools", "train.py"),
                          "--kv-store", "dist_sync", "--batch-size", "64", "--save-dir", str(tmp_path / "two"), *common],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    took = time.time() - started
    try:
        assert two.returncode == 0, (two.stdout + two.stderr)[-3000:]
        assert "no worker has made progress" not in two.stdout + two.stderr  # the stall check's defaults
        assert "launch: scheduler on 10.213.0.1:" in two.stdout + two.stderr  # the bridge's address
        assert all(netns_hosts.pids(ns) == [] for ns in netns_hosts.names)
    finally:
        netns_hosts.restore()
    one = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train.py"), "--batch-size", "128",
                          "--save-dir", str(tmp_path / "one"), *common], capture_output=True, text=True, timeout=900)
    assert one.returncode == 0, one.stderr[-2000:]
    final = {k: json.load(open(tmp_path / k / "summary.json"))["val_top1_err"] for k in ("one", "two")}
    print(f"8 epochs on 2 namespace hosts in {took:.0f} s: final error {final['two']:.2%}; one process {final['one']:.2%}")
    assert final["two"] <= final["one"] + 0.02


@pytest.mark.slow
@pytest.mark.parametrize("how", ["link down", "SIGSTOP"])
def test_a_host_cut_off_ends_the_job_within_a_minute(tmp_path, packed_cifar, netns_hosts, how):
    """grt-node1's link goes down (or every process on it stops): the launcher names it, ends with
    status 1, and no role is left on the other host or on this one."""
    proc, mark, _ = start_job(tmp_path, packed_cifar, *_hostfile(tmp_path, netns_hosts))
    try:
        on = {ns: set(netns_hosts.pids(ns)) & set(job_pids(mark)) for ns in netns_hosts.names}
        assert on["grt-node1"] and on["grt-node2"], on  # roles on both hosts
        cut = time.time()
        if how == "link down":
            netns_hosts.cut("grt-node1")
        else:
            netns_hosts.signal_all("grt-node1", signal.SIGSTOP)
        out, err = proc.communicate(timeout=120)
        took = time.time() - cut
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert proc.returncode == 1 and len(errors) == 1, err[-2000:]
        assert "host grt-node1 went silent" in errors[0] and "stopped the whole job" in errors[0]
        interval, count = netns_hosts.KEEPALIVE  # the ssh config's, which the message must say
        assert f"no answer to {count} keepalives {interval} s apart" in errors[0], errors[0]
        # keepalives, then the probe login (3 x ConnectTimeout at most), then ending the other roles (3 s)
        assert took < interval * (count + 1) + 3 * netns_hosts.CONNECT_TIMEOUT + 10, took
        time.sleep(1)
        left = set(job_pids(mark))
        assert left <= set(netns_hosts.pids("grt-node1")), "a role is left on grt-node2 or on this host"
        # The host comes back: its roles end by themselves once their ssh sessions find the client gone.
        if how == "link down":
            subprocess.run(["ip", "-n", "grt-node1", "link", "set", "eth0", "up"], check=True)
        else:
            netns_hosts.signal_all("grt-node1", signal.SIGCONT)
        back = time.time()
        while job_pids(mark) and time.time() < back + 60:
            time.sleep(0.5)
        print(f"{how} on grt-node1: the job ended {took:.1f} s later, {len(left)} role(s) left only on grt-node1; "
              f"back, they ended {time.time() - back:.1f} s later")
        assert job_pids(mark) == {}, "roles still running on grt-node1 after it came back"
    finally:
        netns_hosts.restore()


@pytest.mark.slow
def test_a_stopped_worker_on_a_host_of_its_own_ends_the_job_and_nothing_is_left(tmp_path, packed_cifar, netns_hosts):
    """The stopped worker is in grt-node1's network namespace, out of reach of this host's sweep: the launcher
    kills it through ssh (a stopped process ignores the SIGHUP of its closed session)."""
    hostfile = tmp_path / "hosts"
    hostfile.write_text("".join(f"{name}\n" for name in netns_hosts.names))
    try:
        proc, mark, _ = start_job(tmp_path, packed_cifar, *STALL, "-H", str(hostfile), "--launcher", "ssh",
                                  "--ssh-config", str(netns_hosts.config))
        on_node1 = set(netns_hosts.pids("grt-node1"))
        name = next(n for n, pid in workers(mark).items() if pid in on_node1)
        error, took = stop_one_and_wait(proc, mark, name)
        assert f"{name} on grt-node1" in error, error
        print(f"ssh, a host of its own: a stopped worker ended the job {took:.1f} s later")
    finally:
        netns_hosts.restore()
