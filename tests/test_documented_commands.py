"""Every command block of README.md and docs/*.md, run as a reader runs it: in the order the pages give
them, from a folder laid out like a fresh clone after `make test` (tools/, onnx_export/, .venv/), each
command's exit code 0 and what the page says it makes checked.

The data a page presumes is there in its real format, only small: CIFAR-10's python tarball at
data/raw/cifar-10-python.tar.gz, MIT's Mini-Places2 tree at data/raw/miniplaces, the reader's
photo.png, a hostfile that names hosts, the reader's neon model files (files neon made: tests/fixtures/neon). What this machine lacks (a GPU, the hours of 180 epochs, the
reader's own cluster) is replaced in TWINS, each with its reason; NOT_RUN lists what cannot run here
at all; every other command runs as written. A listed command that no page shows any more fails."""
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys

import pytest

from conftest import ROOT

PAGES = ["README.md"] + [f"docs/{n}" for n in sorted(os.listdir(os.path.join(ROOT, "docs"))) if n.endswith(".md")]
PY = ".venv/bin/python"
GPU = "no GPU here: --gpus becomes as many CPU contexts (the same multi-device code path)"
EPOCH = "one epoch instead of the recipe's 180 (or 80): hours on this machine"
SHARED = "/shared is the reader's shared file system: a folder of the test's, one per cluster"
R56 = "--kv-store dist_sync --batch-size 32 --n 9"

TWINS = {
    "make demo": (f"{PY} tools/demo.py --epochs 1",
                  "the set-up half of `make demo` is the one this suite was installed by; the rest runs as written, "
                  "for one epoch: `make demo` itself trains the 30 (CI runs it on each Python, and "
                  ".ci/same_numbers.py compares their numbers)"),
    f"{PY} tools/train.py --gpus 0 --n 3": (f"{PY} tools/train.py --cpus 1 --n 3 --num-epochs 1", f"{GPU}; {EPOCH}"),
    f"{PY} tools/train.py --gpus 0,1 --n 9": (f"{PY} tools/train.py --cpus 2 --n 9 --num-epochs 1", f"{GPU}; {EPOCH}"),
    f"{PY} tools/train.py --gpus 0,1 --n 18 --warmup-epochs 1":
        (f"{PY} tools/train.py --cpus 2 --n 18 --warmup-epochs 1 --num-epochs 1", f"{GPU}; {EPOCH}"),
    f"{PY} tools/train.py --data-dir data/miniplaces --gpus 0,1 --n 9":
        (f"{PY} tools/train.py --data-dir data/miniplaces --cpus 2 --n 9 --num-epochs 1 --batch-size 16",
         f"{GPU}; {EPOCH}; a batch of 16: one step of the recipe's 128 images at 112x112 through ResNet-74 takes "
         f"21.5 s on 2 CPU cores (measured 2026-12-06, 2-core EPYC)"),
    f"{PY} tools/launch.py -n 2 -- {PY} tools/train.py --kv-store dist_sync --batch-size 64 --n 9 "
    f"--save-dir runs/r56-2x64":
        (f"{PY} tools/launch.py -n 2 -- {PY} tools/train.py --kv-store dist_sync --batch-size 64 --n 9 "
         f"--save-dir runs/r56-2x64 --num-epochs 1", EPOCH),
    f"{PY} tools/launch.py -n 4 -- {PY} tools/train.py {R56} --save-dir runs/r56-4x32":
        (f"{PY} tools/launch.py -n 4 -- {PY} tools/train.py {R56} --save-dir runs/r56-4x32 --num-epochs 1", EPOCH),
    f"{PY} tools/launch.py -n 4 -s 2 -H hosts --launcher ssh --env DMLC_INTERFACE=eth0 -- {PY} tools/train.py {R56} "
    f"--save-dir /shared/runs/r56":
        (f"{PY} tools/launch.py -n 4 -s 2 -H hosts --launcher ssh --ssh-config {{ssh_config}} --env DMLC_INTERFACE=lo "
         f"-- {PY} tools/train.py {R56} --save-dir {{ws}}/shared-ssh/runs/r56 --num-epochs 1",
         f"{EPOCH}; {SHARED}; the hosts are this machine's names for itself, reached through the tests' sshd on "
         f"loopback (its keys in --ssh-config; eth0 is the reader's interface, lo the test hosts')"),
    f"{PY} tools/launch.py -n 4 -s 2 -H hosts --launcher mpi -- {PY} tools/train.py {R56} --save-dir /shared/runs/r56":
        (f"{PY} tools/launch.py -n 4 -s 2 -H hosts --launcher mpi -- {PY} tools/train.py {R56} --save-dir "
         f"{{ws}}/shared-mpi/runs/r56 --num-epochs 1", f"{EPOCH}; {SHARED}; Open MPI, as root, as the tests run it"),
    f"{PY} tools/launch.py -n 4 -s 2 --launcher slurm -- {PY} tools/train.py {R56} --save-dir /shared/runs/r56":
        (f"{PY} tools/launch.py -n 4 -s 2 --launcher slurm -- {PY} tools/train.py {R56} --save-dir "
         f"{{ws}}/shared-slurm/runs/r56 --num-epochs 1", f"{EPOCH}; {SHARED}; Slurm: the one-node cluster the tests start"),
    f"{PY} tools/train.py --save-dir runs/neon-resnet20 --resume":
        (f"{PY} tools/train.py --save-dir runs/neon-resnet20 --resume --num-epochs 2",
         "one more epoch after neon's instead of the 179 left to the recipe's 180: hours on this machine"),
}
NOT_RUN = {
    "make test": "it runs this suite",
    ".venv/bin/pip uninstall -y mxnet onnxruntime": "the GPU set-up: it would take MXNet from this suite's venv, "
                                                    "and CUDA 11 is not here",
    ".venv/bin/pip install -c constraints.txt -e '.[gpu]'": "the GPU set-up (mxnet-cu112 needs CUDA 11)",
    "python3.14 -m venv .venv": "it would make the venv this suite runs in; make's set-up does the same",
    ".venv/bin/pip install -c constraints.txt --no-deps mxnet==1.9.1": "make's set-up runs it on Python 3.13 "
                                                                      "and 3.14 (CI: .ci/debian)",
    ".venv/bin/pip install -c constraints.txt -e '.[test]'": "make's set-up runs it; this suite's venv is its result",
}
# What each command makes, as its page says (paths in the workspace; `stdout:` a regular expression).
MAKES = {
    "make demo": ["runs/digits-resnet20/model.onnx", "runs/digits-resnet20/model.int8.onnx",
                  "runs/digits-resnet20/verify.json", "runs/digits-resnet20/val_error.png",
                  "stdout:at the final epoch"],
    f"{PY} tools/im2rec_pack.py": ["data/cifar10/dataset.json", "data/cifar10/train.rec", "data/cifar10/val.idx"],
    f"{PY} tools/train.py --gpus 0 --n 3": ["runs/cifar10-resnet20/summary.json", "runs/cifar10-resnet20/val_error.png",
                                            "runs/cifar10-resnet20/model-symbol.json"],
    f"{PY} tools/train.py --gpus 0,1 --n 9": ["runs/cifar10-resnet56/summary.json"],
    f"{PY} tools/train.py --gpus 0,1 --n 18 --warmup-epochs 1": ["runs/cifar10-resnet110/summary.json"],
    f"{PY} tools/evaluate.py --save-dir runs/cifar10-resnet56": [r"stdout:multiscale 32,40,48 +top-1"],
    f"{PY} tools/plot_runs.py runs/cifar10-resnet20 runs/cifar10-resnet56":
        ["runs/val_error-cifar10-resnet20-vs-cifar10-resnet56.png",
         "runs/val_error-cifar10-resnet20-vs-cifar10-resnet56_zoom.png"],
    f"{PY} tools/im2rec_pack.py --dataset miniplaces": ["data/miniplaces/dataset.json"],
    f"{PY} tools/train.py --data-dir data/miniplaces --gpus 0,1 --n 9": ["runs/miniplaces-resnet74/summary.json"],
    f"{PY} tools/evaluate.py --save-dir runs/miniplaces-resnet74": [r"stdout:multiscale 112,128,160,240 +top-1"],
    f"{PY} onnx_export/export.py --save-dir runs/digits-resnet20": ["runs/digits-resnet20/model.onnx"],
    f"{PY} onnx_export/quantize.py --save-dir runs/digits-resnet20": ["runs/digits-resnet20/model.int8.onnx",
                                                                      "stdout:INT8, calibrated on 300 training"],
    f"{PY} onnx_export/verify.py --save-dir runs/digits-resnet20 --model int8": ["stdout:onnxruntime \\(int8\\)"],
    f"{PY} onnx_export/predict.py runs/digits-resnet20/model.onnx photo.png --multiscale": [r"stdout:^photo\.png  \S+ [01]\.\d{4}"],
    f"{PY} onnx_export/verify.py --save-dir runs/digits-resnet20 --model int8 --runtime onnxruntime,openvino":
        ["stdout:openvino \\(int8\\)"],
    f"{PY} tools/launch.py -n 2 -- {PY} tools/train.py --kv-store dist_sync --batch-size 64 --n 9 "
    f"--save-dir runs/r56-2x64": ["runs/r56-2x64/summary.json"],
    f"{PY} tools/launch.py -n 4 -s 2 --launcher slurm -- {PY} tools/train.py {R56} --save-dir /shared/runs/r56":
        ["shared-slurm/runs/r56/summary.json"],
    f"{PY} tools/launch.py -n 4 -s 2 -H hosts --launcher ssh --env DMLC_INTERFACE=eth0 -- {PY} tools/train.py {R56} "
    f"--save-dir /shared/runs/r56": ["shared-ssh/runs/r56/summary.json"],
    f"{PY} tools/launch.py -n 4 -s 2 -H hosts --launcher mpi -- {PY} tools/train.py {R56} --save-dir /shared/runs/r56":
        ["shared-mpi/runs/r56/summary.json"],
    f"{PY} tools/import_neon.py cifar10_msra.prm --data-dir data/cifar10 --save-dir runs/neon-resnet20":
        ["runs/neon-resnet20/imported.json", "runs/neon-resnet20/checkpoint-0001.states",
         "stdout:CIFAR-10 ResNet-20 of 10 classes, neon 1.2.1"],
    f"{PY} tools/evaluate.py --save-dir runs/neon-resnet20": [r"stdout:multiscale 32,40,48 +top-1"],
    f"{PY} onnx_export/export.py --save-dir runs/neon-resnet20": ["runs/neon-resnet20/model.onnx"],
    f"{PY} onnx_export/verify.py --save-dir runs/neon-resnet20": ["runs/neon-resnet20/verify.json"],
    f"{PY} tools/train.py --save-dir runs/neon-resnet20 --resume": ["runs/neon-resnet20/summary.json"],
    f"{PY} tools/import_neon.py neon_miniplaces.prm --dataset miniplaces --save-dir runs/neon-miniplaces":
        ["runs/neon-miniplaces/imported.json", "stdout:Mini-Places2 ResNet-10 of 100 classes"],
}


def documented():
    """(page, command) of every line of every ```bash block, in reading order, comments cut."""
    found = []
    for page in PAGES:
        text = open(os.path.join(ROOT, page)).read()
        for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M):
            for line in block.splitlines():
                command = re.sub(r"\s+#\s.*$", "", line).strip()
                if command:
                    found.append((page, command))
    return found


COMMANDS = documented()
# Each command once, at its first place in reading order, with every page that shows it: a command two pages
# show alike runs on the workspace as the first left it, so running it again would prove nothing new.
RUNS = [(", ".join(p for p, c in COMMANDS if c == command), command)
        for command in dict.fromkeys(c for _, c in COMMANDS)]


def test_every_documented_command_is_run_or_listed():
    shown = {c for _, c in COMMANDS}
    assert not set(TWINS) - shown and not set(NOT_RUN) - shown and not set(MAKES) - shown, \
        "listed but on no page any more: " + ", ".join(sorted((set(TWINS) | set(NOT_RUN) | set(MAKES)) - shown))
    assert not set(TWINS) & set(NOT_RUN)
    assert {"README.md", "docs/deployment.md", "docs/distributed.md"} <= {p for p, _ in COMMANDS}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, sshd, mpi_env, slurm_env):
    """A fresh clone after `make test`, with the data each page presumes; (folder, environment, values)."""
    import cv2
    import numpy as np

    from gluon_resnet.data.synthetic import make_cifar_arrays, write_cifar_python, write_miniplaces
    ws = tmp_path_factory.mktemp("clone")
    for name in ("tools", "onnx_export", "benchmarks", "constraints.txt", "setup.cfg"):
        os.symlink(os.path.join(ROOT, name), ws / name)
    os.symlink(sys.prefix, ws / ".venv")  # the venv this suite runs in: make test's .venv
    (ws / "data" / "raw").mkdir(parents=True)
    # 150 training images: more than the recipe's batch of 128, and than each of 4 workers' batch of 32.
    write_cifar_python(ws / "data" / "raw" / "cifar-10-python.tar.gz", make_cifar_arrays(per_batch=30, test=40))
    write_miniplaces(ws / "data" / "raw" / "miniplaces", per_class=12, size=64)  # 36 images: 2 batches of 16
    cv2.imwrite(str(ws / "photo.png"), np.random.RandomState(0).randint(0, 256, (32, 32, 3)).astype(np.uint8))
    neon_files = os.path.join(ROOT, "tests", "fixtures", "neon")
    shutil.copy(os.path.join(neon_files, "resnet20-neon1.2.1-float32", "after3.prm"), ws / "cifar10_msra.prm")
    shutil.copy(os.path.join(neon_files, "miniplaces10-neon2.6-float32", "after3_nostates.prm"),
                ws / "neon_miniplaces.prm")
    config, port = sshd
    (ws / "hosts").write_text(f"localhost:{port}\n{socket.gethostname()}:{port}\n")  # hosts by name
    env = {**mpi_env, "SLURM_CONF": slurm_env["SLURM_CONF"]}
    return ws, env, {"ws": str(ws), "ssh_config": config}


@pytest.mark.slow
@pytest.mark.parametrize("page,command", RUNS, ids=[f"{p}: {c[:90]}" for p, c in RUNS])
def test_documented_command_runs(page, command, workspace):
    if command in NOT_RUN:
        pytest.skip(f"not run: {NOT_RUN[command]}")
    ws, env, values = workspace
    twin, why = TWINS.get(command, (command, None))
    if why:
        print(f"run as {twin!r}: {why}")
    argv = shlex.split(twin.format(**values))
    r = subprocess.run(argv, cwd=ws, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"{page}: {twin}\n{(r.stdout + r.stderr)[-3000:]}"
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    for made in MAKES.get(command, []):
        if made.startswith("stdout:"):
            assert re.search(made[7:], r.stdout, re.M), (made, r.stdout[-2000:])
        else:
            assert os.path.getsize(ws / made) > 0, made


def test_readme_python_snippet_runs():
    text = open(os.path.join(ROOT, "README.md")).read()
    snippet = next(b for b in re.findall(r"^```python\n(.*?)^```", text, re.S | re.M) if "get_model" in b)
    scope = {}
    exec(snippet, scope)
    assert type(scope["net"]).__name__ == "CifarResNet"
