"""Start a dist kvstore job (one scheduler, S servers, W workers) and end all of it when any part fails:
launch() checks the hosts (hosts.py), finds the addresses (addresses.py), starts each role the way its
backend does (backends.py) and watches them together (supervision.py). How a role is started:

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
import os
import sys

from .. import threads
from ..errors import UserError
from ..recipes import STALL_TIMEOUT, STALL_WARN, STOP_GRACE
from .addresses import free_port, is_loopback, node_addresses, scheduler_address
from .backends import BACKENDS, Local
from .hosts import check_hosts, read_hostfile, ssh_config_file, sync
from .supervision import Job


def launch(command, workers=2, servers=1, launcher="local", hostfile=None, env=None, sync_dst_dir=None,
           host_ip=None, port=None, ssh_config=None, log=print, resume_hint=None, stop_grace=STOP_GRACE,
           stall_warn=STALL_WARN, stall_timeout=STALL_TIMEOUT):
    """Run `command` as the workers of a dist kvstore job, each role started by the `launcher` backend
    (BACKENDS); return the job's exit code (0 when all finished). `resume_hint()` says how to go on,
    printed when the job fails. ssh (the ssh launcher and --sync-dst-dir's rsync) reads `ssh_config`
    (default ~/.ssh/config), then the system's, then the launcher's defaults (ssh_config_file); each host
    is logged in to once before anything starts. After SIGTERM each role has `stop_grace` seconds to end
    before SIGKILL. When no worker makes progress for `stall_timeout` seconds (0: never), the job ends
    naming the worker that hangs, after a warning at `stall_warn`."""
    if launcher not in BACKENDS:
        raise UserError(f"--launcher must be one of {', '.join(BACKENDS)}, not {launcher!r}")
    hosts = read_hostfile(hostfile) if hostfile else None
    kind = BACKENDS[launcher]
    config = ssh_config_file(ssh_config) if hosts and (kind.uses_ssh or sync_dst_dir) else None
    backend = kind(sync_dst_dir or os.getcwd(), moved=bool(sync_dst_dir), ssh_config=config)
    try:
        backend.check(hosts)
        root = host_ip or scheduler_address(hosts, backend.here_only)
        env = _job_env(env, backend, workers, root)
        if config:
            check_hosts(hosts, config)
        if sync_dst_dir and hosts:
            sync(hosts, config, sync_dst_dir)
        job = Job(workers, servers, root, port or free_port("127.0.0.1" if is_loopback(root) else ""), env, log,
                  resume_hint, stop_grace, stall_warn, stall_timeout)
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


def _job_env(env, backend, workers, root):
    """The environment every role gets besides the job's own variables."""
    env = dict(env or {})
    if is_loopback(root) and "DMLC_INTERFACE" not in env and "DMLC_INTERFACE" not in os.environ:
        env["DMLC_INTERFACE"] = "lo"  # ps-lite would otherwise pick a non-loopback interface
    if backend.here_only and not threads.user_chose():
        # Workers on one machine share its cores: 2 workers x 2 OpenMP threads on 2 cores ran an epoch
        # in 5.4 s, 2 x 1 thread in 3.1 s (one worker alone: 3.3 s).
        env["OMP_NUM_THREADS"] = str(max(1, threads.cores() // workers))
    return env
