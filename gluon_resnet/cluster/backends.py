"""How a role is started, one Backend per --launcher: a local process, `ssh -tt host`, `mpirun -n 1` or
`srun --ntasks=1`."""
import os
import shlex
import shutil
import signal
import subprocess

from ..errors import UserError
from .hosts import ssh_command, why_silent


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
    here_only = False           # every role runs on this machine (and shares its cores)
    uses_ssh = False            # roles are started over ssh with the job's ssh config

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

    def host_check(self, host, ssh_port):
        """() -> None, or why the role's host no longer answers; None where the backend cannot tell."""
        return None

    def killer(self, host, ssh_port):
        """(pid) -> None that SIGKILLs a process of the role's host: a stopped one ignores the SIGTERM that ends
        a job. None where the starter reaches it (mpirun and srun send SIGCONT before SIGTERM)."""
        return None

    def task(self, job, env, command, host, ssh_port):
        raise NotImplementedError

    def cleanup(self, job):
        """After the job's roles have ended: anything the starter keeps of the job (Slurm's steps)."""


class Local(Backend):
    """A process on this machine."""
    name = "local"
    here_only = True

    def task(self, job, env, command, host, ssh_port):
        return command, {**os.environ, **env}, "localhost", signal.SIGKILL

    def killer(self, host, ssh_port):
        def kill(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return kill


class Ssh(Backend):
    """`ssh -tt host`: the remote role runs on a pty, so it gets SIGHUP (and ends, even when blocked in the
    kvstore) when this client is killed. BatchMode: fail instead of asking for a password."""
    name = tool = "ssh"
    needs_hostfile = uses_ssh = True

    def task(self, job, env, command, host, ssh_port):
        remote = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        remote = f"cd {shlex.quote(self.workdir)} && exec env {remote} {' '.join(map(shlex.quote, command))}"
        return [*ssh_command(self.ssh_config, ssh_port), "-tt", host, remote], None, host, signal.SIGKILL

    def host_check(self, host, ssh_port):
        return lambda: why_silent(self.ssh_config, host, ssh_port)

    def killer(self, host, ssh_port):
        def kill(pid):
            try:
                subprocess.run([*ssh_command(self.ssh_config, ssh_port), host, f"kill -KILL {int(pid)}"],
                               capture_output=True, stdin=subprocess.DEVNULL, timeout=10)
            except subprocess.TimeoutExpired:
                pass
        return kill


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
        return srun_command(self.job_name(job), command, host, "SLURM_JOB_ID" in os.environ)

    @staticmethod
    def job_name(job):
        return f"gluon-resnet-{job.id}"

    def cleanup(self, job):
        if shutil.which("scancel"):
            subprocess.run(["scancel", f"--name={self.job_name(job)}"], capture_output=True)


BACKENDS = {b.name: b for b in (Local, Ssh, Mpi, Slurm)}
