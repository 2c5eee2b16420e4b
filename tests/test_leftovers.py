"""The end-of-run check (tests/helpers/leftovers.py, run by conftest.py) sees what a run leaves."""
import os
import subprocess
import sys

import pytest

import leftovers
from waiting import wait_until


def test_a_process_the_run_started_is_named_until_it_ends():
    before = leftovers.picture()
    mark = os.environ[leftovers.SESSION_MARK]
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        left = leftovers.leftovers(before, mark)
        assert any(line.startswith(f"process {proc.pid}: ") and "time.sleep(60)" in line for line in left), left
        assert proc.pid not in leftovers.marked_processes("another-run")  # another run's mark is not this one's
    finally:
        proc.kill()
        proc.wait()
    assert proc.pid not in leftovers.marked_processes(mark)


def test_a_launcher_job_role_is_named_without_the_runs_mark():
    """Roles ssh starts on a test host lose the run's environment but keep the launcher's job marker."""
    env = {k: v for k, v in os.environ.items() if k != leftovers.SESSION_MARK}
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            env={**env, leftovers.JOB_MARK: "abc123"})
    try:
        # Once: on Python 3.14 in CI's sid root, a scan right after Popen returned once missed the new process.
        wait_until(lambda: proc.pid in leftovers.marked_processes(os.environ[leftovers.SESSION_MARK]), 5,
                   "scan that finds the new process", interval=0.05)
    finally:
        proc.kill()
        proc.wait()


def test_a_namespace_a_link_and_a_hosts_line_are_named(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    before = leftovers.picture()
    mark = os.environ[leftovers.SESSION_MARK]
    with open("/etc/hosts") as f:
        hosts = f.read()
    try:
        subprocess.run(["ip", "netns", "add", "grt-leftover"], check=True)
        subprocess.run(["ip", "link", "add", "grtleft0", "type", "veth", "peer", "name", "grtleft1"], check=True)
        with open("/etc/hosts", "a") as f:
            f.write("10.213.9.9 grt-leftover\n")
        left = leftovers.leftovers(before, mark)
        assert "network namespace grt-leftover" in left and "network link grtleft0" in left, left
        assert "/etc/hosts line '10.213.9.9 grt-leftover'" in left, left
    finally:
        subprocess.run(["ip", "netns", "del", "grt-leftover"], capture_output=True)
        subprocess.run(["ip", "link", "del", "grtleft0"], capture_output=True)
        with open("/etc/hosts", "w") as f:
            f.write(hosts)
