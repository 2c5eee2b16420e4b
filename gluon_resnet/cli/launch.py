"""Run a training command as the workers of a dist kvstore job, with MXNet's launcher options:

    python tools/launch.py -n 2 -- python tools/train.py --kv-store dist_sync --batch-size 64 ...
    python tools/launch.py -n 4 -s 2 -H hosts --launcher ssh -- python tools/train.py --kv-store dist_sync ...
    python tools/launch.py -n 8 -s 2 --launcher slurm -- python tools/train.py --kv-store dist_sync ...

Each worker trains on its own shard; rank 0 validates and writes the run. When any worker, server or
the scheduler dies, the whole job ends (local and ssh: within seconds, nothing left running)."""
import argparse
import shlex
import sys

from . import main_guard


def parse_args(argv=None):
    from ..launcher import LAUNCHERS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--num-workers", type=int, default=2)
    p.add_argument("-s", "--num-servers", type=int, default=1)
    p.add_argument("-H", "--hostfile", help="one host or host:port (ssh port) per line; slots= is ignored")
    p.add_argument("--launcher", choices=LAUNCHERS, default="local")
    p.add_argument("--sync-dst-dir", help="rsync this folder to the same path on every host, and run there")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="set on every role (repeatable)")
    p.add_argument("--host-ip", help="the address the roles reach the scheduler at (default: this host's)")
    p.add_argument("--port", type=int, help="scheduler port (default: a free one)")
    p.add_argument("--ssh-config", help="ssh: a client config file (ssh -F), e.g. with IdentityFile and User")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the worker command, after --")
    args = p.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..errors import UserError
    from ..launcher import launch
    if not args.command:
        raise UserError("give the worker command after --, e.g. -- python tools/train.py --kv-store dist_sync")
    if args.num_workers < 1 or args.num_servers < 1:
        raise UserError("-n and -s must be at least 1")
    if args.launcher == "ssh" and not args.hostfile:
        raise UserError("--launcher ssh needs -H HOSTFILE (one host or host:port per line)")
    bad = [e for e in args.env if "=" not in e]
    if bad:
        raise UserError(f"--env {bad[0]}: write it as NAME=VALUE")
    env = dict(e.split("=", 1) for e in args.env)
    argv = sys.argv[1:] if argv is None else list(argv)
    resume = shlex.join(["python", "tools/launch.py", *argv[:len(argv) - len(args.command)], *args.command]
                        + ([] if "--resume" in args.command else ["--resume"]))
    raise SystemExit(launch(args.command, args.num_workers, args.num_servers, args.launcher, args.hostfile, env,
                            args.sync_dst_dir, args.host_ip, args.port, args.ssh_config, resume_hint=resume))
