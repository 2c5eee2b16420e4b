"""A job's roles watched together: each a child process of the launcher, polled twice a second; the first to
exit non-zero (or be killed) ends the job: SIGTERM to every role, SIGKILL to what is left after a grace
period, then a sweep of this host for any process still carrying the job's marker. A job whose workers all
make no progress for the stall timeout (each reports its own: train/progress.py) ends the same way, naming
the worker that hangs."""
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field

import psutil

from .. import threads
from ..errors import JobError
from ..recipes import PROGRESS_ENV, ROLE_ENV, STALL_TIMEOUT, STALL_WARN, STOP_GRACE, STOP_GRACE_ENV


POLL_SECONDS = 0.5
# Passed on to every role when set here. Thread settings only when the user set them (threads.user_settings):
# each host's program picks its own defaults for its cores.
PASSED_ENV = (threads.OPENMP_ENV, "LD_LIBRARY_PATH", "DMLC_INTERFACE", "PYTHONPATH")
MARKER = "GLUON_RESNET_JOB"  # set on every role: what is left of a job on this host can be found


class JobFailed(JobError):
    exit_code = 1


def _die_with_launcher(sig):
    """In each role before exec (Linux): `sig` when the launcher dies, even when it is killed with -9.
    mpirun and srun get SIGTERM, which they forward to their tasks; other roles get SIGKILL."""
    def arm():
        try:
            import ctypes
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    return arm


@dataclass
class Role:
    name: str            # "scheduler", "server 0", "worker 1"
    kind: str            # DMLC_ROLE: "scheduler", "server" or "worker"
    host: str
    proc: subprocess.Popen = field(repr=False)
    host_check: object = field(default=None, repr=False)  # ssh roles: () -> None, or why their host is silent
    kill: object = field(default=None, repr=False)    # remote roles: (pid) -> None, SIGKILL on their host


def _describe(code):
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    if code > 128 and code - 128 in signal.valid_signals():
        return f"exited with {code} ({signal.Signals(code - 128).name})"
    return f"exited with {code}"


@dataclass
class Report:
    what: str         # what the worker's loop does: "epoch 3, batch 17 of 30"
    at: tuple         # where that is in the run (train/progress.py): later is greater
    pid: int
    since: float      # when it said so (time.monotonic())


class StallWatch:
    """The workers' reports, read from a UDP socket on the scheduler's address: progress (a worker's loop moved
    on) and heartbeats (its process is alive). The job is stalled when no worker has moved on for `timeout`
    seconds; the one that hangs is the one whose heartbeat stopped, else the one furthest behind."""

    def __init__(self, address, warn=STALL_WARN, timeout=STALL_TIMEOUT, log=print):
        self.warn, self.timeout, self.log = warn, timeout, log
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((address, 0))
        except OSError:  # --host-ip names an address this host does not have (NAT): every interface
            self.sock.bind(("", 0))
        self.sock.setblocking(False)
        self.address = f"{address}:{self.sock.getsockname()[1]}"
        self.reports, self.heard = {}, {}
        self.moved = self.started = time.monotonic()
        self.current, self.longest, self.warned = "the start", (0.0, "the start"), False

    def read(self):
        now = time.monotonic()
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            try:
                d = json.loads(data)
                name = d["role"]
            except (ValueError, KeyError, TypeError):
                continue
            self.heard[name] = now
            if "what" not in d or (name in self.reports and self.reports[name].what == d["what"]):
                continue
            self.reports[name] = Report(d["what"], tuple(d.get("at") or ()), d.get("pid"), now)
            if now - self.moved > self.longest[0]:
                self.longest = (now - self.moved, self.current)
            self.moved, self.current, self.warned = now, d["what"], False

    def stalled(self, workers):
        """(the worker that hangs, seconds without progress, how it is known and its last step) when the job
        has stalled, else None; the warning is logged once on the way."""
        running = [r for r in workers if r.proc.poll() is None]
        if not self.timeout or not running:
            return None
        now = time.monotonic()
        idle = now - self.moved
        if idle < (self.warn or self.timeout):
            return None
        quiet = [r for r in running if now - self.heard.get(r.name, self.started) > SILENT_AFTER]
        if quiet:
            worst = min(quiet, key=lambda r: self.heard.get(r.name, self.started))
            how = f"its process has been silent for {now - self.heard.get(worst.name, self.started):.0f} s"
        else:
            worst = min(running, key=lambda r: (self.reports[r.name].at, self.reports[r.name].since)
                        if r.name in self.reports else ((), self.started))
            how = "it is the furthest behind, its process alive"
        report = self.reports.get(worst.name)
        last = (f"its last step, {now - report.since:.0f} s ago: {report.what}" if report else
                "it has reported no step since the job started")
        if idle < self.timeout:
            if not self.warned:
                self.log(f"launch: warning: no worker has made progress for {idle:.0f} s; {worst.name} on "
                         f"{worst.host} holds the others ({last}). The job ends at {self.timeout:g} s "
                         f"(--stall-timeout)")
                self.warned = True
            return None
        return worst, idle, f"{how} ({last})"


# A worker's heartbeat (train/progress.py HEARTBEAT, 1 s) missing this long: its process is stopped or hung.
SILENT_AFTER = 5


class Job:
    """The roles of one dist kvstore job, watched together."""

    def __init__(self, workers, servers, root_uri, root_port, env=None, log=print, resume_hint=None,
                 grace=STOP_GRACE, stall_warn=STALL_WARN, stall_timeout=STALL_TIMEOUT):
        self.roles, self.log, self.resume_hint, self.grace = [], log, resume_hint, grace
        self.backends = []  # each backend that started a role, for its cleanup
        self.id = uuid.uuid4().hex[:12]
        self.progress = StallWatch(root_uri, stall_warn, stall_timeout, log)
        self.base = {PROGRESS_ENV: self.progress.address, "DMLC_PS_ROOT_URI": root_uri, "DMLC_PS_ROOT_PORT": str(root_port),
                     "DMLC_NUM_WORKER": str(workers), "DMLC_NUM_SERVER": str(servers), MARKER: self.id,
                     STOP_GRACE_ENV: str(grace),
                     **{k: os.environ[k] for k in PASSED_ENV if k in os.environ}, **threads.user_settings(),
                     **(env or {})}

    def env(self, name, role, host):
        return {**self.base, "DMLC_ROLE": role, "DMLC_NODE_HOST": host, ROLE_ENV: name}

    def start(self, backend, name, role, command, host=None, ssh_port=None, address=None):
        """Start role `name` ("server 0", ...) of kind `role` running `command`, the way `backend` does."""
        env = self.env(name, role, address or host or "127.0.0.1")
        argv, env, where, death = backend.task(self, env, command, host, ssh_port)
        # A new session: the whole role (and anything it starts) can be signalled as one group.
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_die_with_launcher(death))
        self.roles.append(Role(name, role, where, proc, backend.host_check(host, ssh_port),
                               backend.killer(host, ssh_port)))
        if backend not in self.backends:
            self.backends.append(backend)

    def stop(self, grace=None):
        """SIGTERM every role still running, SIGKILL what is left after `grace` seconds (default: the job's
        stop grace); then cancel the job's Slurm jobs and end any process of the job still on this host (an
        mpirun task has its own process group and may outlive mpirun by a moment)."""
        for sig, wait in ((signal.SIGTERM, self.grace if grace is None else grace), (signal.SIGKILL, 5)):
            alive = [r for r in self.roles if r.proc.poll() is None]
            for r in alive:
                try:
                    os.killpg(r.proc.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + wait
            while time.time() < deadline and any(r.proc.poll() is None for r in alive):
                time.sleep(0.1)
        for backend in self.backends:
            backend.cleanup(self)
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 0)):
            left = job_processes(self.id)
            for proc in left:
                try:
                    proc.send_signal(sig)
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(left, timeout=wait)

    def fail(self, what):
        """End the whole job and raise JobFailed naming `what` and how to go on."""
        self.stop(grace=3)
        hint = self.resume_hint() if self.resume_hint else "Fix what is named above and run the same command again"
        raise JobFailed(f"{what}; stopped the whole job. {hint}")

    def watch(self):
        """Wait for the workers; end everything on the first failure, Ctrl-C or SIGTERM. Returns 0, or
        raises JobFailed / returns 128 + signal."""
        got = []
        old = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while True:
                if got:
                    self.log(f"launch: {signal.Signals(got[0]).name} received; stopping every role")
                    self.stop()
                    return 128 + got[0]
                workers = [r for r in self.roles if r.kind == "worker"]
                for r in self.roles:
                    code = r.proc.poll()
                    if code is None or code == 0:  # servers and the scheduler leave with 0 once the
                        continue                   # workers have finalized the kvstore
                    what = f"{r.name} on {r.host} {_describe(code)}"
                    why = r.host_check() if code == 255 and r.host_check else None  # ssh's own failure: the host?
                    if why:
                        what = f"host {r.host} went silent: the ssh of {r.name} {why}"
                    self.fail(what)
                self.progress.read()
                stalled = self.progress.stalled(workers)
                if stalled:
                    r, idle, last = stalled
                    for w in workers:  # a stopped process ignores SIGTERM, and on another host the sweep
                        report = self.progress.reports.get(w.name)  # does not reach it
                        if w.kill and report and w.proc.poll() is None:
                            w.kill(report.pid)
                    self.fail(f"{r.name} on {r.host} hangs: no worker has made progress for {idle:.0f} s, and {last}")
                if all(w.proc.poll() == 0 for w in workers):
                    deadline = time.time() + 10
                    while time.time() < deadline and any(r.proc.poll() is None for r in self.roles):
                        time.sleep(0.1)
                    self.stop(grace=2)
                    seconds, where = self.progress.longest
                    if self.progress.timeout:
                        self.log(f"launch: the longest wait for any worker's progress was {seconds:.1f} s (at: "
                                 f"{where}); the stall timeout is {self.progress.timeout:g} s")
                    return 0
                time.sleep(POLL_SECONDS)
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def _network(pid="self"):
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def job_processes(job_id):
    """This host's processes (psutil.Process) that carry the job's marker, other than this one. This host
    is this network namespace: hosts made of namespaces on one machine (the tests') share /proc, and a role
    on another host must end through its own ssh session, as on real machines."""
    found, here = [], _network()
    for proc in psutil.process_iter(["environ"]):
        env = proc.info["environ"] or {}  # None where it cannot be read (another user's, or gone)
        if env.get(MARKER) == job_id and proc.pid != os.getpid() and _network(proc.pid) == here:
            found.append(proc)
    return found
