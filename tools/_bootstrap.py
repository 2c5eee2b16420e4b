"""Lets `python tools/X.py` import the library from a checkout, and turns UserError into one line."""
import functools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main_guard(fn):
    """Run `fn`; a UserError becomes `error: <message>` on stderr and its exit code (default 2)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from gluon_resnet.errors import UserError
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(getattr(e, "exit_code", 2))
        except KeyboardInterrupt:  # outputs are written under temporary names: nothing half-written stays
            print("interrupted; no partial output was left behind", file=sys.stderr)
            sys.exit(130)
    return wrapper
