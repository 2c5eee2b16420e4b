"""MXNet's CPU thread count, set where a program starts.

MXNet's CPU build gives OpenMP half the processors on x86 (one thread on a 2-core machine); using them
all is worth 1.7-1.9x here. MXNet reads the setting once, when it is imported, so a program calls
`use_all_cores()` before anything imports mxnet. The library itself never changes the environment.
"""
import os
import sys
import warnings


# Which OpenMP runtime MXNet runs on (gluon_resnet/compat.py loads it): intel, the default where the
# intel-openmp wheel is installed, or gnu (libgomp, as stock MXNet). Read once, when compat is imported.
OPENMP_ENV = "GLUON_RESNET_OPENMP"
OPENMP_RUNTIMES = {"intel": "Intel OpenMP", "gnu": "GNU OpenMP"}


def openmp_choice(value=None):
    """The runtime `value` names (default: $GLUON_RESNET_OPENMP; unset means intel); SetupError for any other."""
    from .errors import SetupError
    choice = os.environ.get(OPENMP_ENV, "intel") if value is None else value
    if choice not in OPENMP_RUNTIMES:
        raise SetupError(f"{OPENMP_ENV}={choice!r}: use one of {', '.join(OPENMP_RUNTIMES)} (or leave it unset: intel)")
    return choice


def cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_USER_CHOSE = "OMP_NUM_THREADS" in os.environ or "MXNET_OMP_MAX_THREADS" in os.environ


def user_chose():
    """Whether the user set the thread count (before this program changed anything)."""
    return _USER_CHOSE


def use_all_cores():
    """Set OMP_NUM_THREADS to every core unless the user chose (OMP_NUM_THREADS, MXNET_OMP_MAX_THREADS)."""
    if "OMP_NUM_THREADS" in os.environ or "MXNET_OMP_MAX_THREADS" in os.environ:
        return
    if "mxnet" in sys.modules:  # too late: MXNet read it at import
        warnings.warn("mxnet was imported before use_all_cores(), so its CPU operators use half the cores; "
                      "call it first or set OMP_NUM_THREADS", stacklevel=2)
    os.environ["OMP_NUM_THREADS"] = str(cores())
