"""MXNet's CPU threads: set by the programs (tools, demo), never by importing the library."""
import os
import subprocess
import sys

from conftest import ROOT

SNIPPET = ("import os, warnings; warnings.filterwarnings('error', message='mxnet was imported'); {code}; "
           "print(os.environ.get('OMP_NUM_THREADS'))")


def _run(code):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")}
    return subprocess.run([sys.executable, "-c", SNIPPET.format(code=code)], capture_output=True, text=True,
                          cwd=ROOT, env=env)


def test_importing_the_library_leaves_the_environment_alone():
    r = _run("import gluon_resnet, gluon_resnet.train.training")
    assert r.returncode == 0 and r.stdout.strip() == "None"


def test_use_all_cores_before_mxnet():
    r = _run("from gluon_resnet.threads import use_all_cores; use_all_cores(); import gluon_resnet.compat")
    assert r.returncode == 0 and r.stdout.strip() == str(len(os.sched_getaffinity(0)))


def test_use_all_cores_after_mxnet_is_reported():
    r = _run("import gluon_resnet.compat; from gluon_resnet.threads import use_all_cores; use_all_cores()")
    assert r.returncode != 0 and "call it first or set OMP_NUM_THREADS" in r.stderr


def test_tools_set_it_before_mxnet_loads():
    code = ("import sys; sys.argv = ['x']; from gluon_resnet.cli import main_guard; "
            "main_guard(lambda: __import__('gluon_resnet.compat'))()")
    r = _run(code)
    assert r.returncode == 0 and r.stdout.strip() == str(len(os.sched_getaffinity(0)))


def test_idle_openmp_threads_give_their_core_back_after_1_ms_unless_the_user_says():
    """What Intel OpenMP itself reports (kmp_get_blocktime) in a program, as MXNet runs on it."""
    code = ("import ctypes, sys; sys.argv = ['x']; from gluon_resnet.cli import main_guard; "
            "from gluon_resnet.native import intel_openmp_library; "
            "main_guard(lambda: __import__('gluon_resnet.compat'))(); "
            "print(ctypes.CDLL(intel_openmp_library()).kmp_get_blocktime())")
    env = {k: v for k, v in os.environ.items() if k != "KMP_BLOCKTIME"}
    for given, expected in ((None, "1"), ("50", "50")):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                           env={**env, "KMP_BLOCKTIME": given} if given else env)
        assert r.returncode == 0 and r.stdout.strip() == expected, (given, r.stdout, r.stderr[-500:])
    library = code.replace("main_guard(lambda: __import__('gluon_resnet.compat'))()", "import gluon_resnet.compat")
    r = subprocess.run([sys.executable, "-c", library], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "200"  # Intel's default: importing the library sets nothing


def test_the_users_settings_are_told_from_a_programs_defaults_in_every_process():
    """The thread count a program set (use_all_cores) is not the user's, in the processes it starts too; one the
    user set is, whenever it was read."""
    code = ("from gluon_resnet import threads; import os, subprocess, sys; threads.use_all_cores(); "
            "child = subprocess.run([sys.executable, '-c', 'from gluon_resnet import threads; "
            "print(threads.user_chose(), threads.user_settings())'], capture_output=True, text=True).stdout.strip(); "
            "print(threads.user_chose(), child)")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS",
                                                            "KMP_BLOCKTIME", "GLUON_RESNET_THREADS_DEFAULTED")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.stdout.split() == ["False", "False", "{}"], r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**env, "OMP_NUM_THREADS": "3"})
    assert r.stdout.strip() == "True True {'OMP_NUM_THREADS': '3'}", r.stdout + r.stderr
