"""Run a training command as several workers of a dist kvstore on this machine:

    python tools/launch.py -n 2 -- python tools/train.py --kv-store dist_sync --batch-size 64 ...

Each worker trains on its own shard of the training set; rank 0 validates and writes the run. On
several machines, start the scheduler, servers and workers yourself with the DMLC_* variables."""
import argparse

from . import main_guard


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", "--num-workers", type=int, default=2)
    p.add_argument("-s", "--num-servers", type=int, default=1)
    p.add_argument("--port", type=int, help="scheduler port (default: a free one)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the worker command, after --")
    args = p.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..errors import UserError
    from ..launcher import launch_local
    if not args.command:
        raise UserError("give the worker command after --, e.g. -- python tools/train.py --kv-store dist_sync")
    if args.num_workers < 1 or args.num_servers < 1:
        raise UserError("-n and -s must be at least 1")
    raise SystemExit(launch_local(args.command, args.num_workers, args.num_servers, args.port))
