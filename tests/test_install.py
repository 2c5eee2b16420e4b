"""The Makefile's choice of Python: the newest supported python3.X that runs, `make PYTHON=...` first, and
one line for a Python that cannot work."""
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

SUPPORTED = ["3.14", "3.13", "3.12", "3.11", "3.10"]


def _make_value(variable, *args):
    r = subprocess.run(["make", "-s", "--no-print-directory", "--eval", f"show: ; @echo $({variable})", *args, "show"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _runs(python):
    return subprocess.run([python, "-c", "import venv, ensurepip"], capture_output=True).returncode == 0


def test_make_takes_the_newest_python_that_runs():
    chosen = _make_value("PYTHON")
    assert _runs(chosen), chosen
    version = subprocess.run([chosen, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    assert version in SUPPORTED
    newer = SUPPORTED[:SUPPORTED.index(version)]
    # each newer one is absent, or a name that does not run (a pyenv shim for a version not selected)
    assert [v for v in newer if shutil.which(f"python{v}") and _runs(f"python{v}")] == []


def test_make_python_wins():
    assert _make_value("PYTHON", f"PYTHON={sys.executable}") == sys.executable


def _unsupported_python():
    """A Python older than 3.10 or newer than 3.14 on this machine (PATH, or pyenv's versions)."""
    names = [shutil.which(f"python3.{m}") for m in (15, 16, 9, 8)]
    names += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3.[0-9]*")))
    for path in filter(None, names):
        m = re.search(r"python3\.(\d+)$", path)
        if m and not 10 <= int(m[1]) <= 14 and subprocess.run([path, "-V"], capture_output=True).returncode == 0:
            return path
    return None


def test_an_unsupported_python_is_refused_in_one_line(tmp_path):
    python = _unsupported_python()
    if python is None:
        pytest.skip("no Python older than 3.10 or newer than 3.14 on this machine")
    for name in ("Makefile", "setup.cfg", "pyproject.toml", "constraints.txt"):
        shutil.copy(os.path.join(ROOT, name), tmp_path)
    r = subprocess.run(["make", "-s", f"PYTHON={python}", "demo"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode != 0
    said = [line for line in r.stderr.splitlines() if not line.startswith("make")]
    assert len(said) == 1 and "runs on Python 3.10 to 3.14" in said[0] and "make PYTHON=" in said[0], r.stderr
    assert not (tmp_path / ".venv").exists()
