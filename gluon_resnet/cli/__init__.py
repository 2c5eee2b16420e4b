"""Command-line front ends. Each module has `parse_args(argv)` and `main(argv)`; `python tools/X.py`,
`python onnx_export/X.py` and the `gluon-resnet-*` console scripts all call these."""
import functools
import sys


def main_guard(fn):
    """Run a command: MXNet gets every core (set before mxnet loads), a JobError becomes
    `error: <message>` on stderr and its exit code, Ctrl-C one line and 130."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from ..threads import use_all_cores
        use_all_cores()
        from ..errors import JobError
        try:
            return fn(*args, **kwargs)
        except JobError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:  # outputs are written under temporary names: nothing half-written stays
            print("interrupted; no partial output was left behind", file=sys.stderr)
            sys.exit(130)
    return wrapper
