"""What a test run leaves on the machine: its processes, network namespaces and links, /etc/hosts lines,
the launcher's temporary ssh configs. conftest.py takes a picture when the run starts and compares at the
end, after every fixture has cleaned up; anything new is named, removed, and fails the run.

A process is the run's when it carries the run's mark (SESSION_MARK, inherited by everything the tests
start, daemons included) or a launcher job's marker (the roles ssh starts in the test hosts), and has this
machine's root: a Debian root of CI's, running its own suite beside this one, is another machine."""
import glob
import os
import signal
import subprocess
import time

from gluon_resnet.cluster.supervision import MARKER as JOB_MARK

SESSION_MARK = "GLUON_RESNET_TEST_SESSION"
SSH_CONFIGS = "/tmp/gluon-resnet-ssh-*.conf"


def _root(pid):
    try:
        st = os.stat(f"/proc/{pid}/root")
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _ancestors():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def runtime_helper(pid):
    """multiprocessing's resource tracker or forkserver: they belong to this interpreter and end with it."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"from multiprocessing." in f.read()
    except OSError:
        return False


def marked_processes(mark):
    """{pid: command line} of the processes of this machine's root that carry `mark`'s value, or a job marker."""
    here, mine, found = _root("self"), _ancestors(), {}
    wanted = f"{SESSION_MARK}={mark}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) in mine or _root(pid) != here:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if (wanted in env or any(v.startswith(JOB_MARK.encode() + b"=") for v in env)) and not runtime_helper(pid):
            found[int(pid)] = cmdline or "(zombie)"
    return found


def picture():
    """What the machine holds now that a test run could add to."""
    links = {line.split(":")[1].strip().split("@")[0]
             for line in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
             if line.count(":") >= 2}
    netns = {line.split()[0] for line in
             subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines() if line}
    with open("/etc/hosts") as f:
        hosts = f.read()
    return {"netns": netns, "links": links, "hosts": hosts, "ssh_configs": set(glob.glob(SSH_CONFIGS))}


def leftovers(before, mark, settle=0):
    """One line per thing the run left (compared with `before`, a picture()); processes that end within
    `settle` seconds (a daemon still exiting) are not counted."""
    deadline = time.time() + settle
    while marked_processes(mark) and time.time() < deadline:
        time.sleep(0.2)
    now, found = picture(), []
    found += [f"process {pid}: {cmd}" for pid, cmd in sorted(marked_processes(mark).items())]
    found += [f"network namespace {n}" for n in sorted(now["netns"] - before["netns"])]
    found += [f"network link {n}" for n in sorted(now["links"] - before["links"])]
    if now["hosts"] != before["hosts"]:
        added = set(now["hosts"].splitlines()) - set(before["hosts"].splitlines())
        found += [f"/etc/hosts line {line!r}" for line in sorted(added)] or ["/etc/hosts changed"]
    found += [f"file {p}" for p in sorted(now["ssh_configs"] - before["ssh_configs"])]
    return found


def remove(before, mark):
    """End and remove what leftovers() names, as far as it can be."""
    for pid in marked_processes(mark):
        for sig in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    now = picture()
    for n in now["netns"] - before["netns"]:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
    for n in picture()["links"] - before["links"]:  # read again: a deleted namespace took its veth ends along
        subprocess.run(["ip", "link", "del", n], capture_output=True)
    if now["hosts"] != before["hosts"]:
        with open("/etc/hosts", "w") as f:
            f.write(before["hosts"])
    for p in now["ssh_configs"] - before["ssh_configs"]:
        os.remove(p)
