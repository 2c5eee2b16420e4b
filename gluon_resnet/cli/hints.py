"""Commands printed in hints and errors, written so that they run as printed from the current folder:
with the interpreter that runs this tool (`.venv/bin/python` after `make`, never a bare `python` that may
lack the packages) and the script's path from here."""
import os
import sys

from ..errors import Command

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _from_here(path):
    rel = os.path.relpath(path)
    if rel.startswith(os.pardir):
        return path
    return rel if os.sep in rel else os.path.join(os.curdir, rel)


def python():
    """This process's interpreter as the user can type it: relative to the current folder when it
    lies inside it (`.venv/bin/python`), else its absolute path."""
    return _from_here(sys.executable or "python3")


def words(script):
    """The words that run `script` (tools/train.py, onnx_export/export.py, ...) here. Without the
    repository's scripts (a wheel install), its console script: gluon-resnet-train, gluon-resnet-pack, ..."""
    path = os.path.join(REPO, script)
    if os.path.isfile(path):
        here = os.path.isfile(script) and os.path.realpath(script) == os.path.realpath(path)
        return [python(), script if here else _from_here(path)]
    name = os.path.splitext(os.path.basename(script))[0]
    return ["gluon-resnet-" + {"im2rec_pack": "pack"}.get(name, name.replace("_", "-"))]


def command(script, *args, prefix=""):
    """`script` run with `args` (after a launcher's `prefix`), shell-quoted, as typed here."""
    return Command(script, *args, prefix=prefix).shown(words)
