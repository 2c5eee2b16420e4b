"""The scheduler of a dist kvstore job, run from libmxnet.so without importing MXNet's Python package.

`import mxnet` with DMLC_ROLE=scheduler runs ps-lite's scheduler and exits (mxnet/kvstore/kvstore_server.py),
after building the whole Python API, which the scheduler never uses (1.7 s of CPU per job on a 2-core
EPYC). This makes the same C calls on the same library, found by MXNet's own libinfo.py:
MXKVStoreCreate("dist"), MXKVStoreRunServer (which returns when the workers have finalized), and
MXNotifyShutdown. The scheduler only connects the roles; it receives no command and holds no data.

    DMLC_ROLE=scheduler DMLC_PS_ROOT_URI=... python -m gluon_resnet.cluster.scheduler
"""
import ctypes
import importlib.util
import os
import sys


def mxnet_library():
    """The path of libmxnet.so, as `import mxnet` finds it (MXNET_LIBRARY_PATH, LD_LIBRARY_PATH, the package)."""
    spec = importlib.util.find_spec("mxnet")
    if spec is None:
        raise SystemExit("error: MXNet is not installed for this Python (run make, which installs everything)")
    path = os.path.join(spec.submodule_search_locations[0], "libinfo.py")
    libinfo_spec = importlib.util.spec_from_file_location("_mxnet_libinfo", path)
    libinfo = importlib.util.module_from_spec(libinfo_spec)
    libinfo_spec.loader.exec_module(libinfo)
    return libinfo.find_lib_path()[0]


def run():
    if os.environ.get("DMLC_ROLE") != "scheduler":
        raise SystemExit(f"error: DMLC_ROLE={os.environ.get('DMLC_ROLE')!r}: this runs the scheduler only")
    lib = ctypes.CDLL(mxnet_library(), ctypes.RTLD_LOCAL)
    lib.MXGetLastError.restype = ctypes.c_char_p

    def check(ret):
        if ret != 0:
            raise SystemExit(f"error: scheduler: {lib.MXGetLastError().decode(errors='replace').strip()}")

    handle = ctypes.c_void_p()
    check(lib.MXKVStoreCreate(b"dist", ctypes.byref(handle)))
    controller = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(lambda *_: None)
    check(lib.MXKVStoreRunServer(handle, controller, None))
    check(lib.MXNotifyShutdown())


if __name__ == "__main__":
    sys.exit(run())
