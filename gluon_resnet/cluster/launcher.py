"""Start a dist kvstore job (one scheduler, S servers, W workers) and end all of it when any part fails.

Every role is a child process of the launcher, polled twice a second; the first to exit non-zero (or be
killed) ends the job: SIGTERM to every role, SIGKILL to what is left after a grace period, then a sweep
of this host for any process still carrying the job's marker. How a role is started:

* local: a process on this machine (each way is a Backend: Local, Ssh, Mpi, Slurm);
* ssh:   `ssh -tt host` (the remote role runs on a pty, so it gets SIGHUP when its client goes);
* mpi:   `mpirun -n 1` per role (Open MPI or MPICH), on the hostfile's hosts in turn, or where mpirun
         places it; mpirun forwards SIGTERM to its task and exits when the task fails;
* slurm: `srun --ntasks=1` per role, on the nodes Slurm chooses (or the hostfile's, with --nodelist);
         srun forwards SIGTERM and exits when its task fails, and the job's steps are cancelled at the end.

MXNet's own tracker (dmlc_tracker) is not used: its submitters run each role with `check_call` in a
daemon thread, so a role that dies is never noticed and dist_sync workers block in the kvstore forever;
its slurm submitter calls `srun --share`, which today's Slurm refuses; its mpi submitter drops --host-ip.
For the same reason sge and yarn are not offered: under SGE run mpi (its tight integration places
mpirun's tasks), or ssh with a hostfile.
"""
import fcntl
import ipaddress
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field

from .. import threads
from ..errors import JobError, UserError
from ..recipes import STOP_GRACE, STOP_GRACE_ENV

POLL_SECONDS = 0.5
# Passed on to every role when set here. Thread settings only when the user set them (threads.user_settings):
# each host's program picks its own defaults for its cores.
PASSED_ENV = (threads.OPENMP_ENV, "LD_LIBRARY_PATH", "DMLC_INTERFACE", "PYTHONPATH")
MARKER = "GLUON_RESNET_JOB"  # set on every role: what is left of a job on this host can be found


class JobFailed(JobError):
    exit_code = 1


def _ephemeral_ports():
    """The range the kernel hands out for outgoing connections and port-0 binds (Linux's default 32768-60999)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = map(int, f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host="127.0.0.1", tries=100):
    """A port nothing is bound to on `host`, from 10000 up and outside the kernel's ephemeral range: between
    this check and the scheduler's bind, a port of that range can go to anyone's outgoing connection (srun's,
    ssh's, the roles' own ps-lite sockets), and the scheduler then failed with ps-lite's "bind failed"."""
    import random
    low, high = _ephemeral_ports()
    candidates = [*range(10000, low), *range(max(10000, high + 1), 65536)]
    for port in random.sample(candidates, min(tries, len(candidates))):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # a crowded machine: any port the kernel gives
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


# ---------------------------------------------------------------- ssh: the user's settings, host keys checked

# On first contact ssh remembers a host's key in known_hosts; a key that changed later is refused. The
# user's ssh_config (or --ssh-config) says otherwise where it sets StrictHostKeyChecking.
HOST_KEY_POLICY = "accept-new"
# A host that goes silent (cable, switch, kernel) leaves its ssh clients waiting forever unless ssh asks:
# every KEEPALIVE_SECONDS, and KEEPALIVE_COUNT unanswered asks end the client (exit 255). Then a new login
# (given PROBE_SECONDS to connect) tells a silent host from a role that failed. A cut host ends the job about
# 25 s after the cut (docs/distributed.md). These are defaults: the user's ssh_config (ServerAliveInterval,
# ServerAliveCountMax, ConnectTimeout) wins, and the message says the values ssh used (ssh_settings).
KEEPALIVE_SECONDS, KEEPALIVE_COUNT, PROBE_SECONDS = 5, 3, 5


def ssh_config_file(user_config=None):
    """The path of a temporary ssh config for the job: the user's settings (--ssh-config, else
    ~/.ssh/config), then the system's, then the launcher's defaults. ssh keeps the first value it reads
    for each option, so whatever the user's files set wins. The caller removes it."""
    user_config = user_config or os.path.expanduser("~/.ssh/config")
    lines = [f"Include {os.path.abspath(p)}" for p in (user_config, "/etc/ssh/ssh_config") if os.path.isfile(p)]
    lines += ["Host *", f"  StrictHostKeyChecking {HOST_KEY_POLICY}", f"  ServerAliveInterval {KEEPALIVE_SECONDS}",
              f"  ServerAliveCountMax {KEEPALIVE_COUNT}", f"  ConnectTimeout {PROBE_SECONDS}", "  LogLevel ERROR"]
    fd, path = tempfile.mkstemp(prefix="gluon-resnet-ssh-", suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def ssh_command(config, port):
    """ssh with the job's config, never asking for a password or a key's approval."""
    return ["ssh", "-F", config, "-o", "BatchMode=yes", "-p", str(port)]


def ssh_settings(config, host, port):
    """{option: value} as ssh resolves them for host:port with `config` (`ssh -G`; names lower-case)."""
    r = subprocess.run(["ssh", "-G", "-F", config, "-p", str(port), host], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    return {k: v for k, _, v in (line.partition(" ") for line in r.stdout.splitlines())}


def _seconds(value, default):
    return int(value) if (value or "").isdigit() else default


def _known_hosts(config, host, port):
    """(the known_hosts name of host:port, the `-f FILE` ssh-keygen needs when it is not the default)."""
    name = host if port == 22 else f"[{host}]:{port}"
    files = ssh_settings(config, host, port).get("userknownhostsfile", "").split()
    default = os.path.expanduser("~/.ssh/known_hosts")
    where = files[0] if files else default
    return name, "" if os.path.expanduser(where) == default else f" -f {shlex.quote(where)}"


def _said(r):
    """The last line a finished command wrote to stderr, or its exit status."""
    lines = [line.strip() for line in r.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {r.returncode}"


def sync(hosts, config, dst):
    """rsync this folder to `dst` on every host (before anything starts); a failure is one line."""
    for host, port in dict.fromkeys(hosts):
        r = subprocess.run(["rsync", "-az", "-e", shlex.join(ssh_command(config, port)), os.getcwd() + "/",
                            f"{host}:{dst}"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode:
            raise UserError(f"rsync of {os.getcwd()} to {host}:{dst} failed ({_said(r)}); nothing was started")


def silent(config, host, port):
    """None if `host` answers a new ssh login (ssh's ConnectTimeout to connect, three times that in all),
    else why its ssh session ended: the keepalives it missed, and what the new login said."""
    settings = ssh_settings(config, host, port)
    connect = _seconds(settings.get("connecttimeout"), PROBE_SECONDS)
    try:
        r = subprocess.run([*ssh_command(config, port), host, "true"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=3 * connect)
        if r.returncode == 0:
            return None
        why = _said(r)
    except subprocess.TimeoutExpired:
        why = f"no answer within {3 * connect} s"
    return (f"had no answer to {settings.get('serveralivecountmax', KEEPALIVE_COUNT)} keepalives "
            f"{settings.get('serveraliveinterval', KEEPALIVE_SECONDS)} s apart, and a new login failed ({why})")


def check_hosts(hosts, config):
    """Log in to every host once before anything starts: a host key that changed, an unknown host under
    strict checking, or a host ssh cannot reach is one line naming it and what to run."""
    for host, port in dict.fromkeys(hosts):
        try:
            r = subprocess.run([*ssh_command(config, port), "-o", "ConnectTimeout=15", host, "true"],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        except subprocess.TimeoutExpired:
            raise UserError(f"ssh to {host}:{port} did not answer within 60 s; check that the host is up") from None
        if r.returncode == 0:
            continue
        name, f = _known_hosts(config, host, port)
        inspect = f"compare the remembered key (`ssh-keygen{f} -F '{name}'`) with the one it offers now " \
                  f"(`ssh-keyscan -p {port} {host}`)"
        if "HOST IDENTIFICATION HAS CHANGED" in r.stderr:
            raise UserError(f"the host key of {host}:{port} changed since ssh remembered it (known_hosts): nothing was "
                            f"started; {inspect}, and only if the change is expected remove the old one "
                            f"(`ssh-keygen{f} -R '{name}'`) and launch again")
        if "Host key verification failed" in r.stderr:
            raise UserError(f"{host}:{port} is not in ssh's known_hosts and your ssh_config asks for strict checking: "
                            f"nothing was started; check its key (`ssh-keyscan -p {port} {host}`), add it to "
                            f"known_hosts, and launch again")
        raise UserError(f"ssh cannot log in to {host}:{port} ({_said(r)}): "
                        f"nothing was started; `ssh -p {port} {host} true` must work without a password")


# ---------------------------------------------------------------- the scheduler's address

def interface_addresses():
    """{interface: IPv4 address} of this host's interfaces that have one (no traffic: SIOCGIFADDR)."""
    found = {}
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
            except OSError:
                continue
        found[name] = socket.inet_ntoa(packed[20:24])
    return found


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def is_this_host(host):
    if host in ("localhost", socket.gethostname(), socket.getfqdn()):
        return True
    try:
        address = socket.gethostbyname(host)
    except OSError:
        return False
    return _is_loopback(address) or address in interface_addresses().values()


def node_addresses(hosts, root):
    """{host: the address its roles bind and the others reach them at}. ps-lite hands DMLC_NODE_HOST
    to ZeroMQ's bind, which takes an address or an interface, never a host name: `node1` in a hostfile
    must become node1's address. This host's roles use the scheduler's address `root`, which is
    loopback only when every role is here. A name that does not resolve is one line, before any role
    starts."""
    found = {}
    for host in dict.fromkeys(h for h, _ in hosts):
        if is_this_host(host):
            found[host] = root
            continue
        try:
            found[host] = socket.gethostbyname(host)
        except OSError as e:
            raise UserError(f"host {host!r} of the hostfile does not resolve ({e.strerror or e}): write a name "
                            f"this host can look up (/etc/hosts, DNS) or its address") from None
    return found


def route_to(host):
    """The local address the kernel would use to reach `host` (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((socket.gethostbyname(host), 9))
        return s.getsockname()[0]


def scheduler_address(launcher, hosts, interfaces=None):
    """Where the roles reach the scheduler when --host-ip is not given: loopback for a job on this host
    alone, else the route to the first remote host, else this host's first non-loopback interface.
    Never loopback when a role may run elsewhere: then a UserError asks for --host-ip."""
    remote = [h for h, _ in hosts or [] if not is_this_host(h)]
    if launcher == "local" or (hosts and not remote):
        return "127.0.0.1"
    address = None
    if remote:
        try:
            address = route_to(remote[0])
        except OSError:
            pass
    if address is None or _is_loopback(address):
        interfaces = interface_addresses() if interfaces is None else interfaces
        address = next((a for name, a in sorted(interfaces.items()) if not _is_loopback(a)), None)
    if address is None:
        where = remote[0] if remote else "the nodes Slurm or mpirun choose"
        raise UserError(f"found no address of this host that {where} can reach (only loopback); pass --host-ip "
                        f"ADDRESS, the address the other hosts reach this one at")
    return address


# ---------------------------------------------------------------- roles

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
    host: str
    proc: subprocess.Popen = field(repr=False)
    silent: object = field(default=None, repr=False)  # ssh roles: () -> None, or why their host is silent

    @property
    def is_worker(self):
        return self.name.startswith("worker")


def _describe(code):
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    if code > 128 and code - 128 in signal.valid_signals():
        return f"exited with {code} ({signal.Signals(code - 128).name})"
    return f"exited with {code}"


def mpi_flavor():
    """"openmpi" or "mpich" (MPICH and Intel MPI's Hydra), from `mpirun --version`."""
    out = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    return "openmpi" if "Open MPI" in out or "OpenRTE" in out else "mpich"


def mpirun_command(flavor, names, command, host=None):
    """One task of `command` with the environment variables `names` passed on from mpirun's own."""
    if flavor == "openmpi":
        # --bind-to none: Open MPI binds a lone task to core 0, and every role would share that core.
        return ["mpirun", "-n", "1", "--bind-to", "none", *(["--host", host] if host else []),
                *[a for n in names for a in ("-x", n)], *command]
    return ["mpirun", "-n", "1", *(["-hosts", host] if host else []), "-genvlist", ",".join(names), *command]


def srun_command(job_name, command, host=None, in_allocation=False):
    """One task of `command`; srun passes on its whole environment (--export=ALL, the default)."""
    return ["srun", "--ntasks=1", "--nodes=1", f"--job-name={job_name}", "--kill-on-bad-exit=1",
            *([f"--nodelist={host}"] if host else []),
            *(["--overlap"] if in_allocation else []),  # steps of one allocation share its CPUs
            *command]


class Backend:
    """How each role is started: `task(job, env, command, host, ssh_port)` gives (argv, its environment,
    where it runs, the signal it gets when the launcher dies)."""
    name = tool = None          # the --launcher name; the program that must be on PATH
    needs_hostfile = False

    def __init__(self, workdir, moved=False, ssh_config=None):
        self.workdir, self.moved = workdir, moved  # moved: --sync-dst-dir, so the roles cd there first
        self.ssh_config = ssh_config               # the ssh client config (ssh_config_file) where ssh is used

    def check(self, hosts):
        if self.tool and not shutil.which(self.tool):
            raise UserError(f"--launcher {self.name} starts the roles with {self.tool}, which is not on this host's "
                            f"PATH; run launch.py where the cluster's tools are, or use --launcher ssh with a hostfile")
        if self.needs_hostfile and not hosts:
            raise UserError(f"--launcher {self.name} needs -H HOSTFILE (one host or host:port per line)")

    def describe(self):
        return self.name

    def silent(self, host, ssh_port):
        """() -> None, or why the role's host no longer answers; None where the backend cannot tell."""
        return None

    def task(self, job, env, command, host, ssh_port):
        raise NotImplementedError


class Local(Backend):
    """A process on this machine."""
    name = "local"

    def task(self, job, env, command, host, ssh_port):
        return command, {**os.environ, **env}, "localhost", signal.SIGKILL


class Ssh(Backend):
    """`ssh -tt host`: the remote role runs on a pty, so it gets SIGHUP (and ends, even when blocked in the
    kvstore) when this client is killed. BatchMode: fail instead of asking for a password."""
    name = tool = "ssh"
    needs_hostfile = True

    def task(self, job, env, command, host, ssh_port):
        remote = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        remote = f"cd {shlex.quote(self.workdir)} && exec env {remote} {' '.join(map(shlex.quote, command))}"
        return [*ssh_command(self.ssh_config, ssh_port), "-tt", host, remote], None, host, signal.SIGKILL

    def silent(self, host, ssh_port):
        return lambda: silent(self.ssh_config, host, ssh_port)


class Scheduled(Backend):
    """A cluster's own starter (mpirun, srun) runs one task per role, on the given host or where it
    chooses; it forwards SIGTERM to its task and exits when the task fails."""
    anywhere = None  # how a role placed by the starter is named

    def task(self, job, env, command, host, ssh_port):
        if not host:
            env.pop("DMLC_NODE_HOST")  # the starter places it: ps-lite finds the node's own address
        if self.moved:
            command = ["sh", "-c", f"cd {shlex.quote(self.workdir)} && exec {shlex.join(command)}"]
        return self.starter(job, sorted(env), command, host), {**os.environ, **env}, host or self.anywhere, \
            signal.SIGTERM


class Mpi(Scheduled):
    name, tool, anywhere = "mpi", "mpirun", "mpirun's choice"

    def check(self, hosts):
        super().check(hosts)
        self.flavor = mpi_flavor()

    def describe(self):
        return f"mpi, {self.flavor}"

    def starter(self, job, names, command, host):
        return mpirun_command(self.flavor, names, command, host)


class Slurm(Scheduled):
    name, tool, anywhere = "slurm", "srun", "Slurm's choice"

    def starter(self, job, names, command, host):
        return srun_command(f"gluon-resnet-{job.id}", command, host, "SLURM_JOB_ID" in os.environ)


BACKENDS = {b.name: b for b in (Local, Ssh, Mpi, Slurm)}


class Job:
    """The roles of one dist kvstore job, watched together."""

    def __init__(self, workers, servers, root_uri, root_port, env=None, log=print, resume_hint=None,
                 grace=STOP_GRACE):
        self.roles, self.log, self.resume_hint, self.grace = [], log, resume_hint, grace
        self.id = uuid.uuid4().hex[:12]
        self.base = {"DMLC_PS_ROOT_URI": root_uri, "DMLC_PS_ROOT_PORT": str(root_port),
                     "DMLC_NUM_WORKER": str(workers), "DMLC_NUM_SERVER": str(servers), MARKER: self.id,
                     STOP_GRACE_ENV: str(grace),
                     **{k: os.environ[k] for k in PASSED_ENV if k in os.environ}, **threads.user_settings(),
                     **(env or {})}

    def env(self, role, host):
        return {**self.base, "DMLC_ROLE": role, "DMLC_NODE_HOST": host}

    def _start(self, name, host, argv, env=None, death=signal.SIGKILL, silent=None):
        # A new session: the whole role (and anything it starts) can be signalled as one group.
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=_die_with_launcher(death))
        self.roles.append(Role(name, host, proc, silent))

    def start(self, backend, name, role, command, host=None, ssh_port=None, address=None):
        """Start role `name` ("server 0", ...) of kind `role` running `command`, the way `backend` does."""
        env = self.env(role, address or host or "127.0.0.1")
        argv, env, where, death = backend.task(self, env, command, host, ssh_port)
        self._start(name, where, argv, env, death, backend.silent(host, ssh_port))

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
        if shutil.which("scancel") and any(r.proc.args[0] == "srun" for r in self.roles):
            subprocess.run(["scancel", f"--name=gluon-resnet-{self.id}"], capture_output=True)
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 0)):
            left = job_processes(self.id)
            for pid in left:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + wait
            while left and time.time() < deadline and job_processes(self.id):
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
                    what = f"{r.name} on {r.host} {_describe(code)}"
                    why = r.silent() if code == 255 and r.silent else None  # ssh's own failure: the host?
                    if why:
                        what = f"host {r.host} went silent: the ssh of {r.name} {why}"
                    self.stop(grace=3)
                    hint = self.resume_hint() if self.resume_hint else "Fix what is named above and run the same command again"
                    raise JobFailed(f"{what}; stopped the whole job. {hint}")
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


def _network(pid="self"):
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def job_processes(job_id):
    """Pids of this host's processes that carry the job's marker (other than this one). This host is
    this network namespace: hosts made of namespaces on one machine (the tests') share /proc, and a role
    on another host must end through its own ssh session, as on real machines."""
    found, here = [], _network()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if f"{MARKER}={job_id}".encode() in env.split(b"\0") and int(pid) != os.getpid() and _network(pid) == here:
            found.append(int(pid))
    return found


def launch(command, workers=2, servers=1, launcher="local", hostfile=None, env=None, sync_dst_dir=None,
           host_ip=None, port=None, ssh_config=None, log=print, resume_hint=None, stop_grace=STOP_GRACE):
    """Run `command` as the workers of a dist kvstore job, each role started by the `launcher` backend
    (BACKENDS); return the job's exit code (0 when all finished). `resume_hint()` says how to go on,
    printed when the job fails. ssh (the ssh launcher and --sync-dst-dir's rsync) reads `ssh_config`
    (default ~/.ssh/config), then the system's, then the launcher's defaults (ssh_config_file); each host
    is logged in to once before anything starts. After SIGTERM each role has `stop_grace` seconds to end
    before SIGKILL."""
    if launcher not in BACKENDS:
        raise UserError(f"--launcher must be one of {', '.join(BACKENDS)}, not {launcher!r}")
    hosts = read_hostfile(hostfile) if hostfile else None
    config = ssh_config_file(ssh_config) if hosts and (launcher == "ssh" or sync_dst_dir) else None
    backend = BACKENDS[launcher](sync_dst_dir or os.getcwd(), moved=bool(sync_dst_dir), ssh_config=config)
    try:
        backend.check(hosts)
        root = host_ip or scheduler_address(launcher, hosts)
        env = _job_env(env, launcher, workers, root)
        if config:
            check_hosts(hosts, config)
        if sync_dst_dir and hosts:
            sync(hosts, config, sync_dst_dir)
        job = Job(workers, servers, root, port or free_port("127.0.0.1" if _is_loopback(root) else ""), env, log,
                  resume_hint, stop_grace)
        # The scheduler and the servers run from libmxnet.so (cluster/kvstore_role.py).
        serve = [sys.executable, "-m", "gluon_resnet.cluster.kvstore_role"]
        job.start(Local(os.getcwd()), "scheduler", "scheduler", serve)  # on this machine, as MXNet's tracker does
        addresses = node_addresses(hosts, root) if hosts else {}
        for i in range(servers + workers):
            role, k = ("server", i) if i < servers else ("worker", i - servers)
            host, ssh_port = hosts[i % len(hosts)] if hosts else (None, None)
            job.start(backend, f"{role} {k}", role, serve if role == "server" else command, host, ssh_port,
                      addresses.get(host))
        log(f"launch: scheduler on {root}:{job.base['DMLC_PS_ROOT_PORT']}, {servers} server(s), {workers} "
            f"worker(s) ({backend.describe()})")
        return job.watch()
    finally:
        if config:
            os.remove(config)


def _job_env(env, launcher, workers, root):
    """The environment every role gets besides the job's own variables."""
    env = dict(env or {})
    if _is_loopback(root) and "DMLC_INTERFACE" not in env and "DMLC_INTERFACE" not in os.environ:
        env["DMLC_INTERFACE"] = "lo"  # ps-lite would otherwise pick a non-loopback interface
    if launcher == "local" and not threads.user_chose():
        # Workers on one machine share its cores: 2 workers x 2 OpenMP threads on 2 cores ran an epoch
        # in 5.4 s, 2 x 1 thread in 3.1 s (one worker alone: 3.3 s).
        env["OMP_NUM_THREADS"] = str(max(1, threads.cores() // workers))
    return env
