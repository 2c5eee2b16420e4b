"""The scheduler or a server of a dist kvstore job, run from libmxnet.so without building MXNet's Python API.

`import mxnet` with DMLC_ROLE=scheduler or server runs that role and exits (mxnet/kvstore/kvstore_server.py),
after building the whole Python API, which these roles do not use while the workers update on themselves
(1.3-1.9 s of CPU per role on a 2-core EPYC). This makes the same C calls on the same library, found by
MXNet's own libinfo.py, with the OpenMP runtime compat/ loads ahead of it: MXKVStoreCreate("dist"),
MXKVStoreRunServer (which returns when the workers have finalized), MXNotifyShutdown.

A server's controller gets the commands the workers send from Python. The only one MXNet's server handles
is an optimizer to run on the servers (a Trainer or Module with update_on_kvstore=True; tools/train.py's
workers update on themselves and send none): on that one, MXNet's Python API is imported after all and
the optimizer set exactly as MXNet's own server does.

    DMLC_ROLE=server DMLC_PS_ROOT_URI=... python -m gluon_resnet.cluster.kvstore_role
"""
import ctypes
import importlib.util
import os
import pickle

OPTIMIZER_COMMAND = 0  # MXNet's kvstore_server.py: the body is a pickled optimizer


def mxnet_library():
    """The path of libmxnet.so as `import mxnet` finds it (MXNET_LIBRARY_PATH, LD_LIBRARY_PATH, the package)."""
    spec = importlib.util.find_spec("mxnet")
    if spec is None:
        raise SystemExit("error: MXNet is not installed for this Python (run make, which installs everything)")
    path = os.path.join(spec.submodule_search_locations[0], "libinfo.py")
    libinfo_spec = importlib.util.spec_from_file_location("_mxnet_libinfo", path)
    libinfo = importlib.util.module_from_spec(libinfo_spec)
    libinfo_spec.loader.exec_module(libinfo)
    return libinfo.find_lib_path()[0]


class Role:
    def __init__(self):
        from ..native import load_openmp
        from ..threads import use_all_cores
        self.role = os.environ.get("DMLC_ROLE")
        if self.role not in ("scheduler", "server"):
            raise SystemExit(f"error: DMLC_ROLE={self.role!r}: this runs a scheduler or a server")
        use_all_cores()  # as every program does before MXNet's library loads
        load_openmp()
        self.lib = ctypes.CDLL(mxnet_library(), ctypes.RTLD_LOCAL)
        self.lib.MXGetLastError.restype = ctypes.c_char_p
        self.handle, self.kvstore = ctypes.c_void_p(), None

    def check(self, ret):
        if ret != 0:
            raise SystemExit(f"error: {self.role}: {self.lib.MXGetLastError().decode(errors='replace').strip()}")

    def command(self, cmd_id, body, _):
        if cmd_id != OPTIMIZER_COMMAND:
            print(f"{self.role}: unknown command ({cmd_id}, {body!r})", flush=True)
            return
        if self.kvstore is None:
            # `import mxnet` runs a server when DMLC_ROLE says server; this process is one already.
            os.environ["DMLC_ROLE"] = "worker"
            try:
                from ..compat import mx
            finally:
                os.environ["DMLC_ROLE"] = self.role
            self.kvstore = mx.kv.KVStore(self.handle)  # the same library, so the same kvstore
        self.kvstore.set_optimizer(pickle.loads(body))

    def run(self):
        self.check(self.lib.MXKVStoreCreate(b"dist", ctypes.byref(self.handle)))
        controller = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(self.command)
        self.check(self.lib.MXKVStoreRunServer(self.handle, controller, None))
        self.check(self.lib.MXNotifyShutdown())


if __name__ == "__main__":
    Role().run()
