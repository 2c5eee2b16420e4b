"""Start MXNet's parameter-server roles on this machine for a `dist_*` kvstore: one scheduler, S
servers and W workers on loopback. (MXNet's own tools/launch.py goes through dmlc_tracker, which
crashes on Python >= 3.9.) For several machines, run the same roles there with the printed DMLC_*
variables, DMLC_PS_ROOT_URI naming the scheduler's host."""
import os
import signal
import socket
import subprocess
import sys


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def role_env(role, workers, servers, port, host="127.0.0.1", interface="lo"):
    env = dict(os.environ, DMLC_ROLE=role, DMLC_PS_ROOT_URI=host, DMLC_PS_ROOT_PORT=str(port),
               DMLC_NUM_WORKER=str(workers), DMLC_NUM_SERVER=str(servers))
    if interface:
        env["DMLC_INTERFACE"] = interface
    return env


def launch_local(command, workers=2, servers=1, port=None, timeout=None):
    """Run `command` (a list) as `workers` workers beside a scheduler and `servers` servers; forward
    Ctrl-C / SIGTERM to the workers; return the first non-zero worker exit code, else 0."""
    port = port or free_port()
    # A server or scheduler is just MXNet imported with its DMLC_ROLE: the import runs its loop.
    serve = [sys.executable, "-c", "import mxnet"]
    helpers = [subprocess.Popen(serve, env=role_env("scheduler", workers, servers, port))]
    helpers += [subprocess.Popen(serve, env=role_env("server", workers, servers, port)) for _ in range(servers)]
    procs = [subprocess.Popen(command, env=role_env("worker", workers, servers, port)) for _ in range(workers)]

    def forward(signum, frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        codes = [p.wait(timeout=timeout) for p in procs]
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        for p in procs + helpers:
            if p.poll() is None:
                try:
                    p.wait(timeout=10)  # servers leave once every worker has finalized
                except subprocess.TimeoutExpired:
                    p.kill()
    return next((c for c in codes if c), 0)
