"""The native libraries MXNet runs on, loaded ahead of it without importing mxnet: Intel's OpenMP runtime
(compat/ loads it before `import mxnet`; cluster/kvstore_role.py before libmxnet.so alone)."""
import sys


# libmxnet.so calls OpenMP through libgomp's ABI. Once an ImageRecordIter's decoding threads exist, libgomp
# manages more threads than there are cores and drops its spin-wait to 100 polls, so every parallel region
# of the step pays a futex wake: the epoch ran at 0.86-0.88 of the step alone (docs/performance.md).
# Intel's runtime (the intel-openmp wheel) implements the same ABI without that throttle; loaded with
# RTLD_GLOBAL before libmxnet.so, it answers libmxnet.so's calls. Both runtimes train bit for bit alike.
def intel_openmp_library():
    """The path of libiomp5.so from the installed intel-openmp wheel, or None."""
    from importlib import metadata
    try:
        files = metadata.files("intel-openmp") or []
    except metadata.PackageNotFoundError:
        return None
    found = [f.locate() for f in files if f.name == "libiomp5.so"]
    return str(found[0].resolve()) if found and found[0].exists() else None


def load_openmp():
    """Load the OpenMP runtime $GLUON_RESNET_OPENMP names (default intel) ahead of libmxnet.so; return the
    name of the one MXNet will run on."""
    import ctypes
    import os

    from .threads import OPENMP_RUNTIMES, openmp_choice
    choice = openmp_choice()
    if choice == "gnu" or "mxnet" in sys.modules:  # imported before us: already bound to libgomp
        return OPENMP_RUNTIMES["gnu"]
    path = intel_openmp_library()
    if path is None:
        return f"{OPENMP_RUNTIMES['gnu']} (intel-openmp is not installed)"
    # A copy already loaded (an MKL numpy's, say) is made global instead: a second one would end the
    # process (OMP Error #15).
    loaded = _mapped("libiomp5.so")
    ctypes.CDLL(loaded or path, mode=ctypes.RTLD_GLOBAL | (os.RTLD_NOLOAD if loaded else 0))
    return OPENMP_RUNTIMES["intel"]


def _mapped(name):
    """The path of the shared library `name` if it is mapped into this process, else None."""
    try:
        with open("/proc/self/maps") as f:
            paths = [line.split(None, 5)[-1].strip() for line in f if line.rstrip().endswith("/" + name)]
    except OSError:
        return None
    return paths[0] if paths else None
