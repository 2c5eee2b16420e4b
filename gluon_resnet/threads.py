"""MXNet's CPU threads, set where a program starts.

MXNet's CPU build gives OpenMP half the processors on x86 (one thread on a 2-core machine); using them
all is worth 1.7-1.9x here. Intel OpenMP keeps an idle thread spinning for 200 ms before it sleeps
(KMP_BLOCKTIME): processes that share cores (several workers on one host, a kvstore server beside them)
then spend them waiting; 1 ms gives them back (docs/performance.md has the measurement). The runtime reads
both when MXNet is imported, so a program calls `use_all_cores()` before anything imports mxnet; importing
the library changes nothing.
"""
import os
import sys
import warnings


# Which OpenMP runtime MXNet runs on (gluon_resnet/compat/ loads it): intel, the default where the
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


COUNT_ENV = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")
BLOCKTIME_ENV, BLOCKTIME_MS = "KMP_BLOCKTIME", "1"
# The thread variables use_all_cores() set, not the user: the processes a program starts inherit the mark
# with the variables, so they too tell the user's settings from the program's defaults.
DEFAULTED_ENV = "GLUON_RESNET_THREADS_DEFAULTED"


def _defaulted():
    return set(filter(None, os.environ.get(DEFAULTED_ENV, "").split(",")))


def user_settings():
    """{variable: value} of the thread settings the user gave (a launcher passes these on)."""
    ours = _defaulted()
    return {name: os.environ[name] for name in (*COUNT_ENV, BLOCKTIME_ENV) if name in os.environ and name not in ours}


def user_chose():
    """Whether the user set the thread count."""
    return any(name in user_settings() for name in COUNT_ENV)


def use_all_cores():
    """Unless the user set them: OMP_NUM_THREADS to every core (unless MXNET_OMP_MAX_THREADS is set), and
    KMP_BLOCKTIME to 1 ms; what it sets is marked in DEFAULTED_ENV."""
    ours = _defaulted()
    if BLOCKTIME_ENV not in os.environ:
        os.environ[BLOCKTIME_ENV] = BLOCKTIME_MS
        ours.add(BLOCKTIME_ENV)
    if not any(name in os.environ for name in COUNT_ENV):
        if "mxnet" in sys.modules:  # too late: MXNet read it at import
            warnings.warn("mxnet was imported before use_all_cores(), so its CPU operators use half the cores; "
                          "call it first or set OMP_NUM_THREADS", stacklevel=2)
        os.environ["OMP_NUM_THREADS"] = str(cores())
        ours.add("OMP_NUM_THREADS")
    if ours:
        os.environ[DEFAULTED_ENV] = ",".join(sorted(ours))
