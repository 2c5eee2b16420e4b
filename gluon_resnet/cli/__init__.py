"""Command-line front ends. Each module has `parse_args(argv)` and `main(argv)`; `python tools/X.py`,
`python onnx_export/X.py` and the `gluon-resnet-*` console scripts all call these."""
import errno
import functools
import sys

# Errors of the machine rather than of the input: exit 1 (a failure), else 2 (bad input).
FAILURES = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space or raise the quota",
            errno.EFBIG: "the file size limit was reached", errno.EIO: "the disk reported an I/O error",
            errno.EROFS: "the file system is read-only"}


def os_error(e):
    """(one line, exit code) for an OSError: what, which file, what to do."""
    where = f" {e.filename}" if e.filename else ""
    if e.errno in FAILURES:
        return f"{e.strerror}:{where}; {FAILURES[e.errno]} and run again (no partial file was kept)", 1
    return f"{e.strerror}:{where}", 2


def main_guard(fn):
    """Run a command: MXNet gets every core (set before mxnet loads), a JobError becomes
    `error: <message>` on stderr and its exit code, an OSError or MXNetError one line too (never a
    traceback for a file or a disk), Ctrl-C one line and 130."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from ..threads import use_all_cores
        use_all_cores()
        from ..errors import JobError
        try:
            return fn(*args, **kwargs)
        except JobError as e:
            from .hints import words
            print(f"error: {e.render(words)}", file=sys.stderr)
            sys.exit(e.exit_code)
        except OSError as e:
            message, code = os_error(e)
            print(f"error: {message}", file=sys.stderr)
            sys.exit(code)
        except Exception as e:
            if type(e).__name__ != "MXNetError":
                raise
            first = next((line for line in str(e).splitlines() if "rror" in line), str(e).splitlines()[-1])
            print(f"error: MXNet: {first.strip()[:300]}", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:  # outputs are written under temporary names: nothing half-written stays
            print("interrupted; no partial output was left behind", file=sys.stderr)
            sys.exit(130)
    return wrapper
