"""Start a dist kvstore job (one scheduler, S servers, W workers) and end all of it when any part fails.

`local` and `ssh` jobs are started and watched here; `mpi`, `sge`, `slurm` and `yarn` go through the
tracker the mxnet wheel ships (`dmlc_tracker`), which breaks on Python >= 3.9 only by calling
`Thread.isAlive`: `patch_tracker()` puts the old name back at run time instead of copying the tracker.

Why local and ssh are not left to dmlc_tracker: its ssh submitter runs each role with
`subprocess.check_call` in a daemon thread, so a role that dies raises in that thread and nothing else
stops; under dist_sync the other workers then block in the kvstore forever. Here every role is a child
process (ssh roles: an `ssh -tt` client, whose remote process gets SIGHUP when the client goes), polled
twice a second: the first role to exit non-zero (or be killed) ends the job: SIGTERM to every role,
SIGKILL to what is left after a grace period.
"""
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from . import threads
from .errors import JobError, UserError

LAUNCHERS = ("local", "ssh", "mpi", "sge", "slurm", "yarn")
POLL_SECONDS = 0.5
STOP_GRACE = 10     # SIGTERM, then this many seconds, then SIGKILL
PASSED_ENV = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "LD_LIBRARY_PATH", "DMLC_INTERFACE", "PYTHONPATH")


class JobFailed(JobError):
    exit_code = 1


def patch_tracker():
    """dmlc_tracker (shipped in the mxnet wheel) calls Thread.isAlive, removed in Python 3.9."""
    if not hasattr(threading.Thread, "isAlive"):
        threading.Thread.isAlive = threading.Thread.is_alive


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def read_hostfile(path):
    """MXNet's hostfile: one `host` or `host:port` per line (ssh port, default 22); `slots=` is ignored."""
    if not os.path.isfile(path):
        raise UserError(f"--hostfile {path} does not exist; write one host (or host:port) per line")
    hosts = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#")[0].split("slots=")[0].strip()
            if not line:
                continue
            host, _, port = line.partition(":")
            if port and not port.isdigit():
                raise UserError(f"{path}, line {n}: {line!r} is not host or host:port")
            hosts.append((host, int(port or 22)))
    if not hosts:
        raise UserError(f"--hostfile {path} lists no host")
    return hosts


def _die_with_launcher():
    """In each role before exec (Linux): SIGKILL when the launcher dies, even when it is killed with -9."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Role:
    name: str            # "scheduler", "server 0", "worker 1"
    host: str
    proc: subprocess.Popen = field(repr=False)

    @property
    def is_worker(self):
        return self.name.startswith("worker")


def _describe(code):
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    if code > 128 and code - 128 in signal.valid_signals():
        return f"exited with {code} ({signal.Signals(code - 128).name})"
    return f"exited with {code}"


class Job:
    """The roles of one dist kvstore job, watched together."""

    def __init__(self, workers, servers, root_uri, root_port, env=None, log=print, resume_hint=None):
        self.roles, self.log, self.resume_hint = [], log, resume_hint
        self.base = {"DMLC_PS_ROOT_URI": root_uri, "DMLC_PS_ROOT_PORT": str(root_port),
                     "DMLC_NUM_WORKER": str(workers), "DMLC_NUM_SERVER": str(servers), **(env or {})}

    def env(self, role, host):
        return {**self.base, "DMLC_ROLE": role, "DMLC_NODE_HOST": host}

    def start_local(self, name, role, command):
        # A new session: the whole role (and anything it starts) can be signalled as one group.
        proc = subprocess.Popen(command, env={**os.environ, **self.env(role, "127.0.0.1")}, start_new_session=True,
                                preexec_fn=_die_with_launcher)
        self.roles.append(Role(name, "localhost", proc))

    def start_ssh(self, name, role, command, host, port, workdir, ssh_config=None):
        env = {**{k: os.environ[k] for k in PASSED_ENV if k in os.environ}, **self.env(role, host)}
        remote = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        remote = f"cd {shlex.quote(workdir)} && exec env {remote} {' '.join(map(shlex.quote, command))}"
        # -tt: the remote role runs on a pty, so it gets SIGHUP (and ends, even when blocked in the
        # kvstore) when this client is killed. BatchMode: fail instead of asking for a password.
        ssh = ["ssh", "-tt", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR",
               *(["-F", ssh_config] if ssh_config else []), "-p", str(port), host, remote]
        proc = subprocess.Popen(ssh, stdin=subprocess.DEVNULL, start_new_session=True,  # not the launcher's tty
                                preexec_fn=_die_with_launcher)
        self.roles.append(Role(name, host, proc))

    def stop(self, grace=STOP_GRACE):
        """SIGTERM every role still running, SIGKILL what is left after `grace` seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
            alive = [r for r in self.roles if r.proc.poll() is None]
            for r in alive:
                try:
                    os.killpg(r.proc.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + wait
            while time.time() < deadline and any(r.proc.poll() is None for r in alive):
                time.sleep(0.1)

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
                workers = [r for r in self.roles if r.is_worker]
                for r in self.roles:
                    code = r.proc.poll()
                    if code is None or code == 0:  # servers and the scheduler leave with 0 once the
                        continue                   # workers have finalized the kvstore
                    self.stop(grace=3)
                    hint = self.resume_hint() if self.resume_hint else "Run it again with --resume"
                    raise JobFailed(f"{r.name} on {r.host} {_describe(code)}; stopped the whole job. {hint}")
                if all(w.proc.poll() == 0 for w in workers):
                    deadline = time.time() + 10
                    while time.time() < deadline and any(r.proc.poll() is None for r in self.roles):
                        time.sleep(0.1)
                    self.stop(grace=2)
                    return 0
                time.sleep(POLL_SECONDS)
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def launch(command, workers=2, servers=1, launcher="local", hostfile=None, env=None, sync_dst_dir=None,
           host_ip=None, port=None, ssh_config=None, log=print, resume_hint=None):
    """Run `command` as the workers of a dist kvstore job; return its exit code (0 when all finished).
    `resume_hint()` says how to go on, printed when the job fails."""
    if launcher not in LAUNCHERS:
        raise UserError(f"--launcher must be one of {', '.join(LAUNCHERS)}, not {launcher!r}")
    if launcher in ("local", "ssh"):
        hosts = read_hostfile(hostfile) if launcher == "ssh" else [("127.0.0.1", None)]
        root = host_ip or ("127.0.0.1" if launcher == "local" else socket.gethostbyname(socket.gethostname()))
        extra = {"DMLC_INTERFACE": "lo"} if root.startswith("127.") else {}
        if launcher == "local" and not threads.user_chose():
            # Workers on one machine share its cores: 2 workers x 2 OpenMP threads on 2 cores ran an epoch
            # in 5.4 s, 2 x 1 thread in 3.1 s (one worker alone: 3.3 s).
            extra["OMP_NUM_THREADS"] = str(max(1, threads.cores() // workers))
        job = Job(workers, servers, root, port or free_port("127.0.0.1" if root.startswith("127.") else ""),
                  {**extra, **(env or {})}, log, resume_hint)
        serve = [sys.executable, "-c", "import mxnet"]  # a scheduler or server is MXNet imported with its role
        job.start_local("scheduler", "scheduler", serve)  # on this machine, as MXNet's tracker does
        workdir = sync_dst_dir or os.getcwd()
        if launcher == "ssh" and sync_dst_dir:
            for host, p in hosts:
                ssh = f"ssh -p {p} -o BatchMode=yes -o StrictHostKeyChecking=no"
                ssh += f" -F {shlex.quote(ssh_config)}" if ssh_config else ""
                subprocess.run(["rsync", "-az", "-e", ssh,
                                os.getcwd() + "/", f"{host}:{sync_dst_dir}"], check=True)
        for i in range(servers + workers):
            role, k = ("server", i) if i < servers else ("worker", i - servers)
            remote_cmd = serve if role == "server" else command
            if launcher == "local":
                job.start_local(f"{role} {k}", role, remote_cmd)
            else:
                host, p = hosts[i % len(hosts)]
                job.start_ssh(f"{role} {k}", role, remote_cmd, host, p, workdir, ssh_config)
        log(f"launch: scheduler on {root}:{job.base['DMLC_PS_ROOT_PORT']}, {servers} server(s), {workers} "
            f"worker(s) ({launcher})")
        return job.watch()
    return _tracker(command, workers, servers, launcher, hostfile, env, sync_dst_dir, host_ip)


def _tracker(command, workers, servers, launcher, hostfile, env, sync_dst_dir, host_ip):
    """mpi / sge / slurm / yarn: MXNet's own launcher (dmlc_tracker), patched for Python >= 3.9. These
    cluster managers end a whole job when one of its tasks fails."""
    import importlib
    import shutil
    tool = {"mpi": "mpirun", "sge": "qsub", "slurm": "srun", "yarn": "hadoop"}[launcher]
    if not shutil.which(tool):
        raise UserError(f"--launcher {launcher} submits with {tool}, which is not on this host's PATH; run "
                        f"launch.py where the cluster's tools are, or use --launcher ssh with a hostfile")
    patch_tracker()

    from dmlc_tracker import opts
    argv = ["--cluster", launcher, "--num-workers", str(workers), "--num-servers", str(servers)]
    if hostfile:
        argv += ["--host-file", hostfile]
    if sync_dst_dir:
        argv += ["--sync-dst-dir", sync_dst_dir]
    if host_ip:
        argv += ["--host-ip", host_ip]
    for k, v in (env or {}).items():
        os.environ[k] = v  # the submitters pass the launcher's environment on
    args = opts.get_opts(argv + ["placeholder"])  # the worker command's own options are not the tracker's
    args.command = list(command)
    importlib.import_module(f"dmlc_tracker.{launcher}").submit(args)
    return 0
