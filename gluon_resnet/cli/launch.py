"""Run a training command as the workers of a dist kvstore job, with MXNet's launcher options:

    python tools/launch.py -n 2 -- python tools/train.py --kv-store dist_sync --batch-size 64 ...
    python tools/launch.py -n 4 -s 2 -H hosts --launcher ssh -- python tools/train.py --kv-store dist_sync ...
    python tools/launch.py -n 8 -s 2 --launcher slurm -- python tools/train.py --kv-store dist_sync ...
    python tools/launch.py -n 8 -s 2 -H hosts --launcher mpi -- python tools/train.py --kv-store dist_sync ...

Each worker trains on its own shard; rank 0 validates and writes the run. Every launcher starts each
role itself (ssh, mpirun -n 1, srun --ntasks=1) and watches it: when any worker, server or the
scheduler dies, the whole job ends within seconds with one line naming it, and nothing is left running;
when no worker makes progress for --stall-timeout seconds (a worker that hangs), it ends the same way.
Run on this project's machine: local; ssh through a real sshd on loopback; mpi with Open MPI 4.1;
slurm with Slurm 22.05 on a one-node cluster. Not run: MPICH, several real hosts.
sge and yarn (in MXNet's launcher) are not offered: their submitters never notice a role that dies."""
import argparse
import re
import sys

from ..recipes import STALL_TIMEOUT, STALL_WARN, STOP_GRACE
from ..threads import OPENMP_ENV, openmp_choice
from . import main_guard
from .hints import command
from .options import nonnegative_float, port, positive_int
from .train import LAUNCH_ENV


def parse_args(argv=None):
    from ..cluster.backends import BACKENDS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--num-workers", type=positive_int, default=2)
    p.add_argument("-s", "--num-servers", type=positive_int, default=1)
    p.add_argument("-H", "--hostfile", help="one host or host:port (ssh port) per line; slots= is ignored; "
                                             "ssh needs it, mpi and slurm place roles on its hosts in turn")
    p.add_argument("--launcher", choices=list(BACKENDS), default="local",
                   help="local: this machine; ssh: the hostfile's hosts; mpi: mpirun (Open MPI or MPICH); "
                        "slurm: srun, on the nodes Slurm chooses")
    p.add_argument("--sync-dst-dir", help="rsync this folder to the same path on every host, and run there")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set on every role (repeatable); MXNet's NAME:VALUE works too")
    p.add_argument("--host-ip", help="the address the roles reach the scheduler at (default: 127.0.0.1 when every "
                                     "role is on this host, else this host's address on the route to the first "
                                     "remote host, or its first non-loopback interface)")
    p.add_argument("--port", type=port, help="scheduler port (default: a free one)")
    p.add_argument("--stop-grace", type=positive_int, default=STOP_GRACE, metavar="SECONDS",
                   help="after SIGTERM (Ctrl-C, a failed role) each role has this long to end before it is killed "
                        "(default: %(default)s)")
    p.add_argument("--stall-timeout", type=nonnegative_float, default=STALL_TIMEOUT, metavar="SECONDS",
                   help="end the job when no worker has made progress (a batch, a validation batch, a checkpoint) "
                        "for this long, naming the one that hangs; 0: never (default: %(default)s)")
    p.add_argument("--stall-warn", type=nonnegative_float, default=STALL_WARN, metavar="SECONDS",
                   help="warn after this long without progress (default: %(default)s)")
    p.add_argument("--ssh-config", help="ssh: your client config (default ~/.ssh/config), read before the launcher's "
                                        "StrictHostKeyChecking accept-new, e.g. with IdentityFile and User")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the worker command, after --")
    args = p.parse_args(argv)
    if args.stall_timeout and args.stall_warn >= args.stall_timeout:
        p.error(f"--stall-warn {args.stall_warn:g} must be less than --stall-timeout {args.stall_timeout:g} "
                f"(or --stall-warn 0 for no warning)")
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..cluster.launcher import launch
    from ..errors import UserError
    if not args.command:
        raise UserError("give the worker command after --, e.g. -- python tools/train.py --kv-store dist_sync")
    if args.num_workers < 1 or args.num_servers < 1:
        raise UserError("-n and -s must be at least 1")
    env = parse_env(args.env)
    openmp_choice(env.get(OPENMP_ENV))  # every role would fail on import; say it once, here
    argv = sys.argv[1:] if argv is None else list(argv)
    # Workers print the same resume command as this launcher: both prefix the launch command.
    prefix = command("tools/launch.py", *argv[:len(argv) - len(args.command)])
    prefix = prefix if prefix.endswith(" --") else prefix + " --"
    env[LAUNCH_ENV] = prefix
    raise SystemExit(launch(args.command, args.num_workers, args.num_servers, args.launcher, args.hostfile, env,
                            args.sync_dst_dir, args.host_ip, args.port, args.ssh_config,
                            resume_hint=lambda: resume_hint(args.command, prefix), stop_grace=args.stop_grace,
                            stall_warn=args.stall_warn, stall_timeout=args.stall_timeout))


def parse_env(pairs):
    """--env NAME=VALUE, or MXNet launch.py's NAME:VALUE."""
    from ..errors import UserError
    env = {}
    for pair in pairs:
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)[=:](.*)$", pair, re.S)
        if not m:
            raise UserError(f"--env {pair}: write it as NAME=VALUE (or NAME:VALUE)")
        env[m.group(1)] = m.group(2)
    return env


AGAIN = "Fix what is named above and run the same command again"


def resume_hint(command, prefix):
    """After a failure: the run's resume command, generated from its saved TrainConfig as train.py does."""
    import os
    for i, word in enumerate(command):
        if os.path.basename(word) in ("train.py", "gluon-resnet-train") or word == "gluon_resnet.cli.train":
            break
    else:
        return AGAIN
    from ..errors import JobError, render
    from ..runs.folder import Run
    from ..train.start import next_step
    from .hints import words
    from .options import train_parser
    from .train import save_dir_of
    try:
        train_args, _ = train_parser().parse_known_args(command[i + 1:])
        run = Run(save_dir_of(train_args))
        state = run.last_checkpoint()
    except (JobError, OSError, SystemExit):  # the workers said what was wrong with their command already
        return AGAIN
    return render(next_step(run, state and state.config, prefix), words)
