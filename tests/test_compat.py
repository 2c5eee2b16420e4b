"""gluon_resnet/compat/: the one import of MXNet, and the numpy / onnx names it puts back.

For the numpy installed and for older ones installed beside it (a `pip install --target` folder put first
on the path of a subprocess, where this Python has wheels for them), it checks that the table of names
says exactly which ones that numpy lacks, that MXNet fails without each name compat sets, and that each
set name does what numpy 1.23 did (the expected values below were computed with numpy 1.23.5; on
Python 3.11 the suite checks them against that numpy itself).
"""
import ast
import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import ROOT

from gluon_resnet import compat, threads
from gluon_resnet.compat import mxnet_import
from gluon_resnet.compat.numpy_names import _version
from gluon_resnet.compat.onnx_mapping import _OnnxMappingFinder

# numpy releases beside the installed one whose missing names are checked too, where this Python has wheels:
# 1.26 lacks only np.bool (Python 3.12's numpy), 2.0 the 2.0 removals but not in1d / trapz.
OTHER_NUMPYS = ["1.26.4", "2.0.2"]
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "gluon-resnet-tests"


_INSTALLING = threading.Lock()  # cases run in threads (without_each_name) share one install


def _numpy_path(version):
    """A folder holding numpy==`version` for this Python (installed once, kept in the user's cache);
    None for the installed numpy."""
    if version == np.__version__:
        return None
    where = CACHE / f"numpy-{version}-py{sys.version_info[0]}{sys.version_info[1]}"
    with _INSTALLING:
        return _install_numpy(version, where)


def _install_numpy(version, where):
    if not (where / "numpy").is_dir():
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--only-binary", ":all:",
                            "--target", str(where), f"numpy=={version}"], capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"numpy {version} has no wheel for Python {sys.version_info[0]}.{sys.version_info[1]} here")
    return str(where)


def _run(code, numpy=None):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    if numpy:
        env["PYTHONPATH"] = os.pathsep.join([numpy, ROOT])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)


NUMPYS = [np.__version__] + [v for v in OTHER_NUMPYS if v != np.__version__]


@pytest.mark.parametrize("version", NUMPYS)
def test_the_table_names_exactly_what_each_numpy_lacks(version):
    """Without compat, numpy `version` lacks exactly the names the table says; with it, compat sets those."""
    code = ("import json, warnings, numpy as np\nwarnings.simplefilter('ignore')\n"
            f"names = {[e.name for e in compat.NUMPY_NAMES]!r}\n"
            "def has(n):\n    try:\n        return hasattr(np, n)\n    except Exception:\n        return False\n"
            "missing = [n for n in names if not has(n)]\n"
            "import gluon_resnet.compat as c\n"
            "print(json.dumps({'version': np.__version__, 'missing': missing, 'restored': c.RESTORED,"
            " 'lacks_now': [n for n in names if not has(n)]}))")
    r = _run(code, numpy=_numpy_path(version))
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["version"] == version
    expected = [e.name for e in compat.NUMPY_NAMES if e.missing_in(_version(version))]
    assert out["missing"] == expected
    assert out["restored"] == expected and out["lacks_now"] == []


def test_nothing_is_set_on_the_numpy_mxnet_was_built_for():
    if np.__version__ != "1.23.5":
        pytest.skip(f"numpy here is {np.__version__}")
    assert compat.RESTORED == []


def _needed_cases():
    """Each name missing from the installed numpy, and np.bool (missing only from numpy 1.24-1.26)."""
    for version in (np.__version__, "1.26.4"):
        for entry in compat.NUMPY_NAMES:
            if entry.missing_in(_version(version)) and (version == np.__version__ or entry.name == "bool"):
                yield pytest.param(version, entry.name, id=f"numpy{version}-{entry.name}")


# What makes MXNet use a name beyond `import mxnet` (the rest it reads at import).
EXERCISE = {
    "compat": "mx.np.pad(mx.np.ones((2, 2)), ((1, 1), (1, 1)), mode='constant')",
    "Inf": "import mxnet.gluon.contrib.estimator",
}
PROGRAM = ("import sys, numpy as np\n"
           "sys.modules['mxnet'] = None  # compat's own import of mxnet fails, after the names are back\n"
           "try:\n    import gluon_resnet.compat\nexcept Exception:  # SetupError: MXNet not importable\n    pass\n"
           "del sys.modules['mxnet']\n"
           "{remove}"
           "import mxnet as mx\n" + "\n".join(EXERCISE.values()) + "\nprint('ran')")


@pytest.mark.parametrize("version", (np.__version__, "1.26.4"))
def test_mxnet_runs_with_the_names_back(version):
    r = _run(PROGRAM.format(remove=""), numpy=_numpy_path(version))
    assert r.returncode == 0 and r.stdout.strip().endswith("ran"), r.stderr[-1500:]


NEEDED = list(_needed_cases())


@pytest.fixture(scope="module")
def without_each_name():
    """{(numpy version, name): the finished process} of PROGRAM with `name` taken away, one process per
    case (each must import MXNet afresh), as many at once as this machine has cores."""
    from concurrent.futures import ThreadPoolExecutor

    def run(case):
        version, name = case.values
        remove = f"delattr(np, {name!r})\n" + ("sys.modules.pop('numpy.compat', None)\n" if name == "compat" else "")
        try:
            return _run(PROGRAM.format(remove=remove), numpy=_numpy_path(version))
        except pytest.skip.Exception as e:  # no wheel of that numpy here: its cases skip, in the test
            return e
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        return dict(zip((c.values for c in NEEDED), pool.map(run, NEEDED)))


@pytest.mark.parametrize("version,name", NEEDED)
def test_mxnet_fails_without_each_restored_name(version, name, without_each_name):
    """compat restores every name, then `name` is taken away again: importing and using MXNet must fail,
    naming it, on a numpy that lacks it."""
    r = without_each_name[version, name]
    if isinstance(r, pytest.skip.Exception):
        raise r
    assert r.returncode != 0 and name in r.stderr, (r.stdout, r.stderr[-1500:])


def test_restored_names_do_what_numpy_1_23_did():
    """Run on whatever provides the names here: numpy itself where it still has them, compat's where not."""
    sign = lambda v: math.copysign(1.0, v)  # noqa: E731
    assert np.PZERO == 0 and sign(np.PZERO) == 1 and np.NZERO == 0 and sign(np.NZERO) == -1
    assert np.PINF == np.Inf == math.inf and np.NINF == -math.inf and math.isnan(np.NaN) and math.isnan(np.NAN)
    a = np.array([[1, 0], [1, 1]])
    assert np.alltrue(a, axis=0).tolist() == [True, False] and np.alltrue(a) is np.False_
    assert np.sometrue(a, axis=1).tolist() == [True, True] and np.sometrue(np.zeros(3)) is np.False_
    assert np.product([[1, 2], [3, 4]], axis=1).tolist() == [2, 12] and np.product([]) == 1.0
    assert np.round_([0.5, 1.5, 2.5, 2.675], 0).tolist() == [0.0, 2.0, 2.0, 3.0]
    assert np.round_([1.2345, -2.675], 2).tolist() == [1.23, -2.68]
    assert np.msort(np.array([[3, 1], [2, 4], [1, 0]])).tolist() == [[1, 0], [2, 1], [3, 4]]
    assert np.in1d([[1, 2], [3, 4]], [2, 3]).tolist() == [False, True, True, False]
    assert np.in1d([1, 2, 3], [2], invert=True).tolist() == [True, False, True]
    assert np.trapz([1, 2, 3]) == 4.0 and np.trapz([1, 2, 3], x=[0, 1, 3]) == 6.5
    assert np.trapz([[1, 2], [3, 4]], axis=0).tolist() == [2.0, 3.0]
    for f in ("mirr", "npv", "pmt", "ppmt", "pv", "rate"):
        with pytest.raises(RuntimeError, match=f"the function {f} was removed from NumPy version 1.20"):
            getattr(np, f)(0.1, 1, 1)
    import numpy.compat
    assert numpy.compat.basestring is str


def test_restored_functions_are_distinct_from_what_they_call():
    """MXNet's __array_function__ table is keyed by the function object: an alias would take the
    entry of the function it aliases."""
    for restored, target in (("alltrue", "all"), ("sometrue", "any"), ("product", "prod")):
        assert getattr(np, restored) is not getattr(np, target)  # (numpy 1.23's round_ is its round)
    from mxnet.numpy_dispatch_protocol import _NUMPY_ARRAY_FUNCTION_DICT as table
    assert all(getattr(np, n) in table for n in ("sometrue", "round_", "product", "any", "round", "prod"))
    x = compat.mx.np.array([[0.0, 1.0], [1.0, 1.0]])
    assert bool(np.sometrue(x)) and float(np.product(x)) == 0.0


# onnx < 1.19's onnx.mapping.NP_TYPE_TO_TENSOR_TYPE, the table MXNet's exporter was written against.
ONNX_118_NP_TYPE_TO_TENSOR_TYPE = {
    "float32": "FLOAT", "uint8": "UINT8", "int8": "INT8", "uint16": "UINT16", "int16": "INT16", "int32": "INT32",
    "int64": "INT64", "bool": "BOOL", "float16": "FLOAT16", "float64": "DOUBLE", "complex64": "COMPLEX64",
    "complex128": "COMPLEX128", "uint32": "UINT32", "uint64": "UINT64"}


def test_onnx_mapping_matches_onnx_own():
    """compat's onnx.mapping (supplied where onnx >= 1.19 has none) is built, not compared with itself: its
    numpy -> ONNX table is the one onnx 1.18 had; each entry is what onnx itself writes and reads for a tensor
    of that dtype (numpy_helper); every ONNX type onnx's own table gives a numpy dtype for maps to that
    dtype; and where the installed onnx still has an onnx.mapping, ours holds what it holds."""
    import importlib.util

    from onnx import TensorProto, numpy_helper
    # onnx's own table of tensor types: onnx._mapping since 1.19 (onnx.mapping before)
    onnx_types = importlib.import_module("onnx._mapping" if importlib.util.find_spec("onnx._mapping") else "onnx.mapping")
    ours = compat.onnx_mapping()
    assert {d.name: TensorProto.DataType.Name(t) for d, t in ours.NP_TYPE_TO_TENSOR_TYPE.items()} == \
        ONNX_118_NP_TYPE_TO_TENSOR_TYPE
    for dtype, t in ours.NP_TYPE_TO_TENSOR_TYPE.items():
        tensor = numpy_helper.from_array(np.arange(3).astype(dtype))
        assert tensor.data_type == t, dtype
        assert numpy_helper.to_array(tensor).dtype == dtype and ours.TENSOR_TYPE_TO_NP_TYPE[t] == dtype, dtype
    own = {t: np.dtype(e.np_dtype) for t, e in onnx_types.TENSOR_TYPE_MAP.items()}
    assert own and {t: ours.TENSOR_TYPE_TO_NP_TYPE.get(t) for t in own} == own
    try:
        from onnx import mapping
    except ImportError:
        mapping = None
    if mapping is None or isinstance(getattr(mapping, "__loader__", None), _OnnxMappingFinder):
        return  # onnx >= 1.19: compat's is the only onnx.mapping
    for dtype, t in ours.NP_TYPE_TO_TENSOR_TYPE.items():  # (onnx's also maps object arrays to STRING)
        assert mapping.NP_TYPE_TO_TENSOR_TYPE[dtype] == t, dtype
    for t, dtype in mapping.TENSOR_TYPE_TO_NP_TYPE.items():
        if t in ours.TENSOR_TYPE_TO_NP_TYPE:
            assert ours.TENSOR_TYPE_TO_NP_TYPE[t] == dtype, t


SOURCES = [p for d in ("gluon_resnet", "tools", "onnx_export", "benchmarks", "tests")
           for p in sorted(pathlib.Path(ROOT, d).rglob("*.py"))]


def _imports_mxnet(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "mxnet" for a in node.names):
            yield node.lineno
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mxnet" and not node.level:
            yield node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                re.search(r"(^|[;\n])\s*(import|from) mxnet\b|__import__\(.mxnet", node.value):  # python -c code
            yield node.lineno
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in \
                ("__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant) and \
                str(node.args[0].value).split(".")[0] == "mxnet":
            yield node.lineno


def test_only_compat_imports_mxnet():
    own = {pathlib.Path(ROOT, "gluon_resnet", "compat", "mxnet_import.py"), pathlib.Path(__file__)}
    found = [f"{p.relative_to(ROOT)}:{line}" for p in SOURCES if p not in own for line in _imports_mxnet(p)]
    assert found == []


def test_pools_name_their_start_method():
    """Python 3.14 makes forkserver Linux's default; the project's pools say which method they use."""
    bare = [f"{p.relative_to(ROOT)}:{i}" for p in SOURCES for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"multiprocessing\.(Pool|Process)\(", line)]
    assert bare == []



def test_a_missing_system_library_is_one_line_naming_its_package(monkeypatch):
    """What a minimal Debian 13 root without libquadmath0 gave (ctypes' OSError), said as a SetupError."""
    from gluon_resnet.errors import SetupError

    def fail(name):
        raise OSError("libquadmath.so.0: cannot open shared object file: No such file or directory")
    monkeypatch.setattr(mxnet_import.importlib, "import_module", fail)
    with pytest.raises(SetupError, match=r"needs libquadmath\.so\.0, .* apt-get install libquadmath0\)$"):
        mxnet_import._import_mxnet()


# ---------------------------------------------------------------- the OpenMP runtime
def _omp_bindings(tmp_path, runtime, before=""):
    """(the runtime compat names, {the OpenMP symbols libmxnet.so uses: the library that answers them}) in a
    fresh process with GLUON_RESNET_OPENMP=`runtime` that runs `before` first, as the dynamic linker reports
    its bindings."""
    out = tmp_path / f"{runtime}-{len(before)}"
    env = {**os.environ, threads.OPENMP_ENV: runtime, "LD_BIND_NOW": "1", "LD_DEBUG": "bindings",
           "LD_DEBUG_OUTPUT": str(out)}
    code = (f"{before}\nfrom gluon_resnet import compat; print(compat.OPENMP)\n"
            "files = {line.split()[-1] for line in open('/proc/self/maps') if line.endswith('/libiomp5.so\\n')}\n"
            "assert len(files) <= 1, files")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    found = {}
    for log in tmp_path.glob(f"{out.name}.*"):
        for m in re.finditer(r"binding file \S*/libmxnet\.so \[0\] to (\S+) \[0\]: normal symbol `((?:GOMP|omp)_\w+)'",
                             log.read_text()):
            found[m.group(2)] = m.group(1)
    return r.stdout.strip(), found


def test_mxnet_runs_on_intel_openmp_unless_told_gnu(tmp_path):
    """libmxnet.so's OpenMP calls (GOMP_parallel_start, omp_get_max_threads, ...) go to libiomp5.so by default
    and to libgomp with GLUON_RESNET_OPENMP=gnu."""
    if compat.intel_openmp_library() is None:
        pytest.skip("intel-openmp is not installed (it has wheels for x86_64 only)")
    name, intel = _omp_bindings(tmp_path, "intel")
    assert name == "Intel OpenMP" and "GOMP_parallel_start" in intel, intel
    assert {os.path.realpath(p) for p in intel.values()} == {compat.intel_openmp_library()}, intel
    name, gnu = _omp_bindings(tmp_path, "gnu")
    assert name == "GNU OpenMP" and gnu.keys() == intel.keys(), gnu
    assert {os.path.basename(p) for p in gnu.values()} == {"libgomp.so.1"}, gnu
    # A copy another library loaded first, privately and from elsewhere (as an MKL numpy does), is the one
    # MXNet gets: a second copy would end the process.
    other = tmp_path / "other" / "libiomp5.so"
    other.parent.mkdir()
    shutil.copy(compat.intel_openmp_library(), other)
    name, shared = _omp_bindings(tmp_path, "intel", f"import ctypes; ctypes.CDLL({str(other)!r})")
    assert name == "Intel OpenMP" and shared == dict.fromkeys(intel, str(other)), shared


def test_an_unknown_openmp_runtime_is_one_line():
    r = subprocess.run([sys.executable, "-c", "import gluon_resnet.compat"], capture_output=True, text=True,
                       env={**os.environ, threads.OPENMP_ENV: "llvm"})
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].endswith(
        "GLUON_RESNET_OPENMP='llvm': use one of intel, gnu (or leave it unset: intel)"), r.stderr


# ---------------------------------------------------------------- MXNet's private parts

@pytest.mark.parametrize("use", sorted(compat.PRIVATE))
def test_every_private_name_is_on_the_installed_mxnet(use):
    for where, name in compat.PRIVATE[use]:
        owner = compat.mx
        for part in where.split("."):
            owner = getattr(owner, part, None) or compat.submodule(f"{owner.__name__[len('mxnet.'):]}.{part}"
                                                                   if owner is not compat.mx else part)
        assert hasattr(owner, name), f"{use}: mxnet.{where}.{name} is gone"


def test_no_module_but_compat_names_mxnets_private_parts():
    private = {name for names in compat.PRIVATE.values() for where, name in names if name.startswith("_")}
    private |= {part for names in compat.PRIVATE.values() for where, _ in names for part in where.split(".")
                if part.startswith("_")}
    found = []
    for path in pathlib.Path(ROOT, "gluon_resnet").rglob("*.py"):
        if path.name == "private.py" and path.parent.name == "compat":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    any(p in node.value.split(".") for p in private):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not found, found


def test_amp_state_is_read_and_set_back():
    before = compat.amp_state()
    try:
        assert compat.amp_state((True, "scaler")) == (True, "scaler")
    finally:
        compat.amp_state(before)
    assert compat.amp_state() == before


def test_the_onnx_converter_takes_an_opset(tmp_path):
    load_module, graph = compat.onnx_converter()
    net = compat.mx.gluon.nn.HybridSequential()
    net.add(compat.mx.gluon.nn.Dense(3, in_units=4))
    net.initialize()
    net.hybridize()
    net(compat.mx.nd.zeros((1, 4)))
    net.export(str(tmp_path / "m"))
    sym, params = load_module(str(tmp_path / "m-symbol.json"), str(tmp_path / "m-0000.params"))
    import onnx
    proto = graph().create_onnx_graph_proto(sym, params, [(1, 4)], [onnx.TensorProto.FLOAT], opset_version=13)
    assert [n.op_type for n in proto.node] == ["Flatten", "Gemm"]
