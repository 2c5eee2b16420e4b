"""`import mxnet`, done once and in order: the numpy names put back (numpy_names.py), `onnx.mapping` made
findable (onnx_mapping.py), Intel's OpenMP runtime loaded ahead of MXNet's libgomp where it is installed
(native.py; GLUON_RESNET_OPENMP=gnu keeps libgomp), then MXNet itself, a missing piece of the installation
said in one line."""
import importlib
import importlib.util
import sys

from ..native import load_openmp
from .numpy_names import restore_numpy
from .onnx_mapping import install_finder


# Shared libraries libmxnet.so loads from the system (the wheel bundles the rest), and their Debian packages.
SYSTEM_LIBRARIES = {"libgomp.so.1": "libgomp1", "libquadmath.so.0": "libquadmath0"}


def _import_mxnet():
    """`import mxnet`, with a missing piece of the installation said in one line (SetupError)."""
    from ..errors import SetupError
    python = f"Python {sys.version_info[0]}.{sys.version_info[1]}"
    if importlib.util.find_spec("mxnet") is None:
        raise SetupError(f"MXNet is not installed for {python}: {sys.executable} -m pip install --no-deps mxnet==1.9.1 "
                         f"(or run make, which installs everything)")
    if importlib.util.find_spec("distutils") is None:  # MXNet imports distutils.version
        raise SetupError(f"MXNet 1.9.1 imports distutils, which {python} no longer ships: "
                         f"{sys.executable} -m pip install setuptools (it carries a copy)")
    try:
        return importlib.import_module("mxnet")
    except OSError as e:
        missing = next((lib for lib in SYSTEM_LIBRARIES if lib in str(e)), None)
        if missing is None:
            raise
        raise SetupError(f"MXNet's libmxnet.so needs {missing}, which this machine lacks: install it "
                         f"(Debian, Ubuntu: apt-get install {SYSTEM_LIBRARIES[missing]})") from None


RESTORED = restore_numpy()
install_finder()
OPENMP = load_openmp()
mx = _import_mxnet()


def submodule(name):
    """`mxnet.<name>` imported (for the parts of MXNet that `mx.` does not reach by attribute)."""
    return importlib.import_module(f"mxnet.{name}")
