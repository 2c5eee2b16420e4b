"""The package's imports run one way: leaves (errors, fileio, native, recipes, threads) at the bottom, then
compat (MXNet's one import), model, data, runs, train, cluster and deploy, with cli on top; a module imports from its own subpackage or
from a lower one, never from above, and no modules import each other in a circle."""
import ast
import pathlib

from conftest import ROOT

PACKAGE = pathlib.Path(ROOT, "gluon_resnet")
# Rank of each subpackage; the leaves (modules directly in gluon_resnet/) are 0.
RANKS = {"compat": 1, "model": 2, "data": 3, "runs": 4, "train": 5, "cluster": 6, "deploy": 6, "cli": 7}


def _module(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports():
    """{module: {imported gluon_resnet module}}, function-level imports included."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("gluon_resnet")}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                if not base.startswith("gluon_resnet"):
                    continue
                for a in node.names:  # `from . import run` names a module; `from .run import Run` a name in one
                    sub = f"{base}.{a.name}"
                    targets.add(sub if pathlib.Path(ROOT, *sub.split(".")).with_suffix(".py").exists() or
                                pathlib.Path(ROOT, *sub.split("."), "__init__.py").exists() else base)
        found[name] = targets - {name}
    return found


def _place(module):
    """(subpackage or "", rank)."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANKS):
        return parts[1], RANKS[parts[1]]
    return "", 0


def test_the_walk_sees_the_imports_it_judges():
    found = imports()
    assert "gluon_resnet.data.dataset" in found["gluon_resnet.data.integrity"]
    assert "gluon_resnet.compat" in found["gluon_resnet.train.training"]
    assert "gluon_resnet.runs.folder" in found["gluon_resnet.deploy.onnx_io"]
    assert "gluon_resnet.deploy.runtimes" in found["gluon_resnet.cli.verify"]  # `from ..deploy import runtimes`
    assert all(_place(m)[0] in RANKS or _place(m)[1] == 0 for m in found)


def test_no_module_imports_from_above():
    upward = []
    for module, targets in imports().items():
        package, rank = _place(module)
        for target in targets:
            other, other_rank = _place(target)
            if target == "gluon_resnet" or other == package:
                continue
            if other_rank >= rank:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports from the same or a higher layer: " + "; ".join(sorted(upward))


def test_no_import_circle():
    graph = imports()
    circles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not circles, "import circles: " + "; ".join(circles)


def test_deployment_reads_runs_without_training():
    found = imports()
    assert not {t for m, ts in found.items() if m.startswith("gluon_resnet.deploy") for t in ts
                if t.startswith("gluon_resnet.train")}


def test_the_synthetic_archives_are_written_for_tests_and_benchmarks_only():
    """data/synthetic.py writes the publishers' formats with random pixels: no library module imports it."""
    found = imports()
    assert "gluon_resnet.data.synthetic" in found  # the walk sees it
    assert not [m for m, ts in found.items() if "gluon_resnet.data.synthetic" in ts]
