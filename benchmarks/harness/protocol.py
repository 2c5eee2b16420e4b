"""The worker protocol: bench.py --worker SPEC runs one measurement (measures.worker) in a process of its own
(MXNet reads its thread settings at import) and prints its result as one JSON line after RESULT."""
import json
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench.py")
RESULT = "RESULT "


def measure(spec, check=False):
    """Run `spec` in a worker process of its own; its result, or {"error": its last line} (raised with
    `check`)."""
    env = {**os.environ, **spec.get("env", {})}
    if spec.get("default_threads"):  # as a script that sets nothing runs: MXNet picks its own thread count
        for var in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS"):
            env.pop(var, None)
    out = subprocess.run([sys.executable, BENCH, "--worker", json.dumps(spec)], capture_output=True, text=True,
                         env=env)
    line = next((l for l in out.stdout.splitlines() if l.startswith(RESULT)), None)
    if line is None:
        error = (out.stderr.strip().splitlines() or ["no output"])[-1][:200]
        if check:
            raise SystemExit(f"bench.py: {spec['kind']} failed: {error}")
        return {"error": error}
    return json.loads(line[len(RESULT):])
