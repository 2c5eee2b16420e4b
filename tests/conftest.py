"""Fixtures: small datasets written in the exact on-disk formats their publishers use, packed and
trained on."""
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

from gluon_resnet import threads

threads.use_all_cores()  # as the tools do, before mxnet loads: the tests run at the tools' speed
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gluon_resnet.compat import mx  # noqa: E402
from gluon_resnet.data.synthetic import make_cifar_arrays, write_cifar_python, write_miniplaces  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "helpers"))
import leftovers  # noqa: E402
from waiting import wait_until  # noqa: E402

_BEFORE = {}


# The xdist controller marks the run and pictures the machine, and checks it once every worker has ended; the
# workers inherit its mark.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
# This machine has one Slurm cluster and one pair of test hosts (with their /etc/hosts lines): the modules that
# use them (MACHINE_WIDE fixtures), and the one that pictures the whole machine, run one after another in one
# worker. The launcher's other tests (local and loopback-ssh jobs) are units of one test each: they come last
# and go to whichever worker is free. Every other module is one unit.
MACHINE_WIDE = {"slurm_env", "netns_hosts"}
MACHINE_WIDE_MODULES = ("tests/cluster/test_hosts.py", "tests/cluster/test_mpi_slurm.py",
                        "tests/test_documented_commands.py", "tests/test_leftovers.py")
ONE_BY_ONE_MODULES = ("tests/cluster/test_launcher.py", "tests/cluster/test_stall.py")


def pytest_configure(config):
    """Mark every process the run starts (the mark is inherited), and picture the machine before it. Under
    xdist, unless the user set a thread count, each worker and what it starts get their share of the cores:
    two trainings side by side with a thread per core each take twice as long (docs/performance.md)."""
    if WORKER:
        return
    os.environ[leftovers.SESSION_MARK] = f"{os.getpid()}-{time.time_ns()}"
    workers = getattr(config.option, "numprocesses", None) or 0  # xdist has made `-n auto` a number by now
    if workers > 1 and not threads.user_chose():
        os.environ["OMP_NUM_THREADS"] = str(max(1, threads.cores() // workers))
    _BEFORE.update(leftovers.picture())


def pytest_collection_modifyitems(config, items):
    for item in items:
        uses = MACHINE_WIDE & set(item.fixturenames)
        if uses and item.nodeid.split("::")[0] not in MACHINE_WIDE_MODULES:
            raise pytest.UsageError(f"{item.nodeid} uses {', '.join(sorted(uses))}: add its module to "
                                    f"MACHINE_WIDE_MODULES in tests/conftest.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """For `-n` without another `--dist`: xdist's per-module scheduling (larger units first), with the
    MACHINE_WIDE_MODULES as one unit (the largest: it starts first) and each test of ONE_BY_ONE_MODULES
    as a unit of its own (the smallest: they come last)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class MachineWideTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            module = nodeid.split("::")[0]
            if module in MACHINE_WIDE_MODULES:
                return "machine-wide"
            return nodeid if module in ONE_BY_ONE_MODULES else module

    return MachineWideTogether(config, log)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """After every fixture has cleaned up: the run must leave the machine as it found it."""
    if WORKER:
        return
    mark = os.environ[leftovers.SESSION_MARK]
    left = leftovers.leftovers(_BEFORE, mark, settle=5)
    if left:
        leftovers.remove(_BEFORE, mark)
        sys.stderr.write("\nthe test run left this on the machine (now removed):\n  " + "\n  ".join(left) + "\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        sys.stderr.write("\nnothing left on the machine: no process, network namespace, link, /etc/hosts line "
                         "or ssh config of the run\n")


def made_once(tmp_path_factory, name, make):
    """The path (its last part the last part of `name`, "packed/digits") that `make(path)` makes once for the
    whole run: under pytest-xdist the first worker to ask makes it while the others wait, then all share it."""
    import fcntl
    key = "shared-" + name.replace("/", "-")
    if WORKER:  # getbasetemp() is the worker's folder inside the run's
        base = tmp_path_factory.getbasetemp().parent / key
        base.mkdir(exist_ok=True)
    else:
        base = tmp_path_factory.mktemp(key)
    path, done = base / name.rsplit("/", 1)[-1], base / ".made"
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            make(str(path))
            done.touch()
    return str(path)


@pytest.fixture(scope="session")
def cifar_batches():
    return make_cifar_arrays()


@pytest.fixture(scope="session")
def cifar_tarball(tmp_path_factory, cifar_batches):
    return made_once(tmp_path_factory, "raw/cifar-10-python.tar.gz",
                     lambda path: write_cifar_python(path, cifar_batches))


@pytest.fixture
def miniplaces_root(tmp_path):
    return write_miniplaces(tmp_path / "miniplaces")


@pytest.fixture(scope="session")
def packed_cifar(tmp_path_factory, cifar_tarball):
    """The small CIFAR tarball packed with neon's defaults (pad 4, mean mode)."""
    from gluon_resnet.data.packing import pack
    from gluon_resnet.data.sources import read_cifar10
    return made_once(tmp_path_factory, "packed/cifar10",
                     lambda out: pack(read_cifar10(cifar_tarball), "cifar10", out, progress=False))


@pytest.fixture(scope="session")
def miniplaces_raw(tmp_path_factory):
    """A read-only Mini-Places2 tree shared by the session (tests that alter one use miniplaces_root)."""
    return made_once(tmp_path_factory, "raw/miniplaces", write_miniplaces)


@pytest.fixture(scope="session")
def packed_miniplaces(tmp_path_factory, miniplaces_raw):
    from gluon_resnet.data.packing import pack
    from gluon_resnet.data.sources import read_miniplaces
    return made_once(tmp_path_factory, "packed/miniplaces", lambda out: pack(
        read_miniplaces(miniplaces_raw), "miniplaces", out, pad=0, keep_bytes=True, progress=False))


@pytest.fixture(scope="session")
def packed_digits(tmp_path_factory):
    """The embedded digits dataset, packed as `make demo` packs it."""
    from gluon_resnet.data.packing import pack
    from gluon_resnet.data.sources import read_digits
    return made_once(tmp_path_factory, "packed/digits", lambda out: pack(read_digits(), "digits", out, progress=False))


def train_command(*argv):
    """tools/train.py run in this process, as typed (its errors raised, not printed)."""
    from gluon_resnet.cli.train import main
    return main.__wrapped__([str(a) for a in argv])


def _train(data_dir, save_dir):
    from gluon_resnet.train.start import new_config
    from gluon_resnet.train.training import fit
    fit(new_config(str(data_dir), save_dir, n=1, batch_size=4, num_epochs=2))
    return str(save_dir)


@pytest.fixture(scope="session")
def cifar_run(tmp_path_factory, packed_cifar):
    """A ResNet-8 trained for two epochs on the small CIFAR pack."""
    return made_once(tmp_path_factory, "runs/cifar10-resnet8", lambda save: _train(packed_cifar, save))


# The shared digits run: see digits_run.
DIGITS_RUN = dict(n=1, num_epochs=12, lr_step_epochs=[7.5, 10], cpus=2)


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory, packed_digits):
    """ResNet-8 trained on the digits over 2 CPU contexts for 12 epochs (DIGITS_RUN: lr x0.1 after epochs 7.5
    and 10), to a low and stable error (a few %): INT8 has something to lose, and a run's noise (oneDNN rounds
    differently per CPU) moves few images. Trained once for the session; a test that changes a run's files
    works on a copy (copy_run)."""
    from gluon_resnet.train.start import new_config
    from gluon_resnet.train.training import fit
    return made_once(tmp_path_factory, "runs/digits-resnet8",
                     lambda save: fit(new_config(packed_digits, save, **DIGITS_RUN)))


def copy_run(run, tmp_path):
    """A copy of the run folder `run` in tmp_path, to change freely."""
    dest = tmp_path / os.path.basename(run)
    shutil.copytree(run, dest)
    return dest


@pytest.fixture(scope="session")
def miniplaces_run(tmp_path_factory, packed_miniplaces):
    """A Mini-Places2 ResNet-10 trained for two epochs on the small Mini-Places2 pack."""
    return made_once(tmp_path_factory, "runs/miniplaces-resnet10", lambda save: _train(packed_miniplaces, save))


def read_records(out, split):
    """(labels, decoded RGB images, raw payload bytes) of a packed split, in record order."""
    rec = mx.recordio.MXIndexedRecordIO(os.path.join(out, f"{split}.idx"), os.path.join(out, f"{split}.rec"), "r")
    labels, images, raw = [], [], []
    for k in rec.keys:
        header, buf = mx.recordio.unpack(rec.read_idx(k))
        labels.append(int(header.label))
        raw.append(buf)
        images.append(cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1])
    rec.close()
    return labels, images, raw


def as_archives(root, dest):
    """MIT's two downloads, made from an extracted tree: dest/data.tar.gz, dest/development_kit.tar.gz."""
    import tarfile
    dest.mkdir()
    for archive, folder in (("data.tar.gz", "images"), ("development_kit.tar.gz", "development_kit")):
        with tarfile.open(dest / archive, "w:gz") as t:
            t.add(os.path.join(root, folder), arcname=folder)
    return str(dest)




# ---------------------------------------------------------------- cluster software, for real, on this machine

@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """An sshd on a free loopback port, with a host key and a client key made here; returns the ssh
    client config to pass with --ssh-config. Touches nothing outside its temporary folder except /run/sshd
    (sshd's privilege-separation folder), which it removes again if it made it."""
    import getpass

    from gluon_resnet.cluster.addresses import free_port
    if not os.path.exists(shutil.which("sshd") or "/usr/sbin/sshd"):
        pytest.fail("sshd is missing: install openssh-server (.ci/run does)")
    d = tmp_path_factory.mktemp("ssh")
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    port = free_port()
    import socket
    listen = sorted({"127.0.0.1", socket.gethostbyname(socket.gethostname())})  # hostfiles name this host too
    (d / "ssh_config").write_text(
        f"Host *\n  User {getpass.getuser()}\n  IdentityFile {d / 'client_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n")
    made_run_dir = not os.path.isdir("/run/sshd")
    if made_run_dir:
        os.makedirs("/run/sshd", mode=0o755)
    proc = start_sshd(d, port, d / "host_key", listen)
    try:
        yield str(d / "ssh_config"), port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if made_run_dir:
            shutil.rmtree("/run/sshd", ignore_errors=True)


def write_sshd_config(path, port, listen, host_key, authorized_keys, pid_file):
    """A test sshd's config: key logins only, root allowed. It asks a silent client every second and gives
    up after 3 (ClientAlive*): a role whose launcher vanished behind a cut link ends soon after the link is back.
    SHLVL=1 keeps bash from reading the login's ~/.bashrc, as it does for a command run over ssh: the
    tests kill logins, and one killed inside pyenv's rehash (which a .bashrc may run) left its lock behind,
    making every later login wait a minute for it."""
    path.write_text(
        f"Port {port}\n" + "".join(f"ListenAddress {a}\n" for a in listen) + f"HostKey {host_key}\n"
        f"AuthorizedKeysFile {authorized_keys}\nPidFile {pid_file}\nStrictModes no\nUsePAM no\n"
        f"PasswordAuthentication no\nPermitRootLogin yes\nAcceptEnv *\nClientAliveInterval 1\nClientAliveCountMax 3\n"
        f"SetEnv SHLVL=1\n")
    return path


def start_sshd(d, port, host_key, listen=("127.0.0.1",)):
    """sshd on `port` with `host_key`, taking the client key of the folder `d` (made by the sshd fixture);
    returns its process once a login works."""
    config = write_sshd_config(d / f"sshd_config-{port}", port, listen, host_key, d / "authorized_keys",
                               d / f"sshd-{port}.pid")
    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    log = d / f"sshd-{port}.log"
    proc = subprocess.Popen([sshd_bin, "-D", "-e", "-f", str(config)], stderr=open(log, "w"))
    try:
        wait_until(lambda: subprocess.run(["ssh", "-F", str(d / "ssh_config"), "-p", str(port), "-o", "BatchMode=yes",
                                           "127.0.0.1", "true"], capture_output=True).returncode == 0, 10,
                   "login to the test sshd", alive=lambda: proc.poll() is None, said=log.read_text)
    except AssertionError:
        proc.kill()
        raise
    return proc


# Test hosts with their own addresses: network namespaces joined to this machine by veth pairs on a
# bridge. Only these addresses, made here, are ever used; every name below starts with "grt".
NETNS_SUBNET = "10.213.0"
HOSTS_MARK = "# gluon-resnet test host"


def _netns_cleanup(names, bridge):
    """Remove the test hosts (their processes, namespaces, bridge, /etc/hosts lines), whatever is left."""
    for ns in names:
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(int(pid), sig)
                except ProcessLookupError:
                    pass
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    for k in range(1, len(names) + 1):
        # A namespace that outlived its name (a process still inside when it was deleted, or a run killed
        # mid-way) keeps its veth pair; deleting this end removes both.
        subprocess.run(["ip", "link", "del", f"grtv{k}"], capture_output=True)
    subprocess.run(["ip", "link", "del", bridge], capture_output=True)
    with open("/etc/hosts") as f:
        kept = [line for line in f if HOSTS_MARK not in line]
    with open("/etc/hosts", "w") as f:
        f.writelines(kept)


class NetnsHosts:
    """Two test hosts, `grt-node1` and `grt-node2`, each a network namespace with its own address
    (NETNS_SUBNET.11, .12), its own sshd on port 22, and a name in /etc/hosts."""

    KEEPALIVE = (1, 3)      # ServerAliveInterval (s), ServerAliveCountMax
    CONNECT_TIMEOUT = 2     # s

    def __init__(self, d, ssh_dir):
        self.names = ["grt-node1", "grt-node2"]
        self.bridge, self.dir, self.sshd = "grtbr0", d, {}
        _netns_cleanup(self.names, self.bridge)  # what a killed earlier run left
        def run(*command):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{NETNS_SUBNET}.1/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        lines = []
        for k, ns in enumerate(self.names, 1):
            address = f"{NETNS_SUBNET}.1{k}"
            run("ip", "netns", "add", ns)
            run("ip", "link", "add", f"grtv{k}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            run("ip", "link", "set", f"grtv{k}", "master", self.bridge)
            run("ip", "link", "set", f"grtv{k}", "up")
            run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            lines.append(f"{address} {ns} {HOSTS_MARK}\n")
        with open("/etc/hosts", "a") as f:
            f.writelines(lines)
        # The launcher's keepalives and its probe login, shortened here through the ssh config (as a user
        # would): 3 unanswered keepalives 1 s apart, 2 s to connect. A host that goes silent is named in
        # seconds, and the no-false-alarm test holds the job to a tighter bound than the defaults (5 s x 3).
        self.config = d / "ssh_config"
        self.config.write_text(f"Host {' '.join(self.names)}\n  User root\n  IdentityFile {ssh_dir / 'client_key'}\n"
                               f"  IdentitiesOnly yes\n  UserKnownHostsFile {d / 'known_hosts'}\n"
                               f"  ServerAliveInterval {self.KEEPALIVE[0]}\n  ServerAliveCountMax {self.KEEPALIVE[1]}\n"
                               f"  ConnectTimeout {self.CONNECT_TIMEOUT}\n")
        for k, ns in enumerate(self.names, 1):
            key = d / f"host_key_{ns}"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
            write_sshd_config(d / f"sshd_{ns}", 22, [f"{NETNS_SUBNET}.1{k}"], key, ssh_dir / "authorized_keys",
                              d / f"sshd_{ns}.pid")
            self.sshd[ns] = subprocess.Popen(["ip", "netns", "exec", ns, shutil.which("sshd") or "/usr/sbin/sshd",
                                              "-D", "-e", "-f", str(d / f"sshd_{ns}")],
                                             stderr=open(d / f"sshd_{ns}.log", "w"))
        for ns in self.names:
            wait_until(lambda: self.ssh(ns, "true").returncode == 0, 30, f"login to {ns}'s sshd",
                       said=(d / f"sshd_{ns}.log").read_text)

    def ssh(self, ns, command):
        return subprocess.run(["ssh", "-F", str(self.config), "-o", "BatchMode=yes", "-o",
                               "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=5", ns, command],
                              capture_output=True, text=True, timeout=30)

    def pids(self, ns):
        """The processes running in `ns` but its sshd's listener: what a job left there."""
        out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        return [int(p) for p in out if int(p) != self.sshd[ns].pid]

    def cut(self, ns):
        subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "down"], check=True)

    def signal_all(self, ns, sig):
        for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(pid), sig)
            except ProcessLookupError:
                pass

    def restore(self):
        """Both hosts back as they were: link up, nothing stopped, no process but their sshd."""
        for ns in self.names:
            self.signal_all(ns, signal.SIGCONT)
            subprocess.run(["ip", "-n", ns, "link", "set", "eth0", "up"], check=True)
            for pid in self.pids(ns):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def close(self):
        for proc in self.sshd.values():
            proc.kill()
        _netns_cleanup(self.names, self.bridge)


@pytest.fixture(scope="session")
def netns_hosts(tmp_path_factory, sshd):
    """Two test hosts with their own addresses (see NetnsHosts); removed at the end, whatever happens."""
    if not shutil.which("ip"):
        pytest.fail("ip is missing: install iproute2 (make test does)")
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    hosts = None
    try:
        hosts = NetnsHosts(tmp_path_factory.mktemp("netns"), pathlib.Path(sshd[0]).parent)
        yield hosts
    finally:
        if hosts:
            hosts.close()
        else:
            _netns_cleanup(["grt-node1", "grt-node2"], "grtbr0")


@pytest.fixture(scope="session")
def mpi_env():
    """The environment Debian's Open MPI needs to run as root (as tests and CI do)."""
    import shutil
    if not shutil.which("mpirun"):
        pytest.fail("mpirun is missing: install openmpi-bin (make test does)")
    return {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}


@pytest.fixture(scope="session")
def slurm_env(tmp_path_factory):
    """A one-node Slurm cluster (Debian's slurm-wlm and munge) on this machine, on free ports, with a munged
    of its own (its key, socket and pid file in a temporary folder, so a munged the machine runs is never
    touched); everything stopped and the folder removed at the end. Returns the environment that points
    srun at it."""
    from gluon_resnet.cluster.addresses import free_port
    for tool in ("slurmctld", "slurmd", "srun", "munged"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: install slurm-wlm and munge (make test does)")
    d = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool"):
        (d / sub).mkdir()
    (d / "munge.key").write_bytes(os.urandom(1024))
    os.chmod(d / "munge.key", 0o600)
    socket_path = d / "munge.socket"
    subprocess.run(["munged", "--force", f"--socket={socket_path}", f"--key-file={d / 'munge.key'}",
                    f"--pid-file={d / 'munged.pid'}", f"--log-file={d / 'munged.log'}",
                    f"--seed-file={d / 'munged.seed'}"], check=True)
    host = subprocess.run(["hostname", "-s"], capture_output=True, text=True).stdout.strip()
    memory = int(open("/proc/meminfo").read().split()[1]) // 1024 // 2
    conf = d / "slurm.conf"
    conf.write_text(
        f"ClusterName=gluonresnet\nSlurmctldHost={host}(127.0.0.1)\nSlurmctldPort={free_port()}\n"
        f"SlurmdPort={free_port()}\nAuthType=auth/munge\nAuthInfo=socket={socket_path}\nSlurmUser=root\n"
        f"SlurmdUser=root\nStateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\nSlurmctldPidFile={d}/ctld.pid\n"
        f"SlurmdPidFile={d}/d.pid\nSlurmctldLogFile={d}/ctld.log\nSlurmdLogFile={d}/d.log\n"
        f"ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSlurmdParameters=config_overrides\n"
        f"SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\nReturnToService=2\nMpiDefault=none\n"
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={memory} State=UNKNOWN\n"
        f"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8\n")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([daemon, "-f", str(conf)], check=True, env=env)
        deadline = time.time() + 30
        while True:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=env).stdout.strip()
            if state in ("idle", "mix", "alloc"):
                break
            if state.startswith("down") or state.startswith("drain"):
                subprocess.run(["scontrol", "update", f"nodename={host}", "state=resume"], env=env)
            assert time.time() < deadline, (state, (d / "ctld.log").read_text()[-2000:])
            time.sleep(0.5)
        yield env
    finally:
        subprocess.run(["scancel", "--user=root"], env=env, capture_output=True)
        for pid_file in ("d.pid", "ctld.pid", "munged.pid"):
            stop_pid_file(d / pid_file)
        shutil.rmtree(d, ignore_errors=True)  # Slurm's state and spool, munge's key


def stop_pid_file(path, wait=10):
    """SIGTERM the daemon whose pid `path` holds, and wait until it is gone (SIGKILL after `wait` s)."""
    try:
        pid = int(path.read_text())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    deadline = time.time() + wait
    while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
