"""Package-level behaviour: MXNet's CPU thread count."""
import subprocess
import sys

from conftest import ROOT

SNIPPET = ("import os, warnings; warnings.filterwarnings('error', message='mxnet was imported'); {first}; "
           "print(os.environ.get('OMP_NUM_THREADS'))")


def _run(code, env=None):
    import os
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)


def test_import_uses_every_core():
    import os
    r = _run(SNIPPET.format(first="import gluon_resnet"))
    assert r.returncode == 0 and r.stdout.strip() == str(len(os.sched_getaffinity(0)))


def test_importing_mxnet_first_is_reported():
    r = _run(SNIPPET.format(first="import mxnet; import gluon_resnet"))
    assert r.returncode != 0 and "import gluon_resnet first or set OMP_NUM_THREADS" in r.stderr
