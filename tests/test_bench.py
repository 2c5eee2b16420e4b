"""benchmarks/bench.py's smallest configurations run end to end, so the harness cannot rot."""
import json
import os
import statistics
import subprocess
import sys

from conftest import ROOT

from gluon_resnet import compat


def _bench(tmp_path, *args, timeout=300, rounds=1, meta=False):
    """bench.py --quick, `rounds` rounds, with `args`: (its process, the rows of the JSON it wrote[, its meta])."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench.py"), "--quick", "--rounds",
                        str(rounds), *args, "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    [result] = [f for f in os.listdir(tmp_path / "out") if f.endswith(".json")]
    assert os.path.exists(tmp_path / "out" / result.replace(".json", ".png"))
    written = json.load(open(tmp_path / "out" / result))
    return (r, written["rows"], written["meta"]) if meta else (r, written["rows"])


def test_smallest_configuration_runs_and_reports_its_commit_and_spread(tmp_path):
    r, rows, meta = _bench(tmp_path, "--steps", "1", "--only", "train/hybrid,train/pytorch", rounds=2, meta=True)
    assert "ResNet-20 training step: this project" in r.stdout
    ours = rows["train/hybrid/ResNet-20"]
    assert ours["status"] == "ok" and ours["images_per_second"] > 0 and ours["ratio"] == 1.0
    assert ours["peak_rss_mib"] > 100
    rates = ours["images_per_second_rounds"]
    assert len(rates) == ours["rounds"] == 2 and ours["ratio_rounds"] == [1.0, 1.0]
    assert ours["spread"] == (max(rates) - min(rates)) / statistics.median(rates)
    git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    head = git.stdout.strip() if git.returncode == 0 else "unknown"  # a copy without its .git
    assert meta["commit"].split("+")[0] == head and f"commit {meta['commit']}," in r.stdout, meta
    torch = rows["train/pytorch/ResNet-20"]  # an optional peer: measured, or said to be absent
    assert torch["status"] in ("ok", "not installed")


def test_bf16_rows_run_where_the_cpu_has_bf16_and_say_so_elsewhere(tmp_path):
    from gluon_resnet.model.precision import bf16_supported
    _, rows = _bench(tmp_path, "--steps", "1", "--only", "train/hybrid,train/bf16")
    bf16 = rows["train/bf16/ResNet-20"]
    if bf16_supported():
        assert bf16["status"] == "ok" and bf16["images_per_second"] > 0 and bf16["ratio"] > 0
    else:
        assert bf16["status"] == "no bf16 CPU"


def test_epoch_row_is_fit_itself_against_the_step_alone_on_its_batches(tmp_path):
    """The epoch row runs fit() (validation, metrics, checkpoints included) on the digits repeated as a
    CIFAR-10 archive, and the step alone on that epoch's batches in a process of its own."""
    r, rows = _bench(tmp_path, "--only", "epoch/float32", "--epoch-images", "256", timeout=600)  # 2 batches
    row = rows["epoch/float32"]
    assert row["status"] == "ok", row
    assert row["ratio"] == row["images_per_second"] / row["step_images_per_second"] > 0
    assert 0 < row["with_validation"] < row["images_per_second"]  # validation and the checkpoint take time
    meta = json.load(open(tmp_path / "cache" / "digits-as-cifar10-256" / "dataset.json"))
    assert meta["counts"] == {"train": 256, "val": 51} and meta["name"] == "cifar10"
    assert "images/s over the whole epoch, validation and checkpoint included" in r.stdout
    # The same epoch on libgomp (GLUON_RESNET_OPENMP=gnu): the default's runtime, measured against stock MXNet's.
    gnu = rows["epoch/float32/gnu"]
    assert gnu["status"] == "ok" and gnu["openmp"] == "GNU OpenMP", gnu
    if compat.intel_openmp_library():
        assert row["openmp"] == "Intel OpenMP"
        assert "the fp32 epoch on Intel OpenMP (the default) runs" in r.stdout


def test_profile_step_profiles_the_graph_training_runs_and_the_imperative_one_when_asked():
    """benchmarks/profile_step.py: the static graph by default, as tools/train.py trains; --no-hybridize the
    imperative steps. Each prints the operators' time per step, largest first, one operator a line (bulk
    execution, which the profiler reports as one segment of many operators, is off)."""
    script = os.path.join(ROOT, "benchmarks", "profile_step.py")
    for flags, mode in (((), "hybridized"), (("--no-hybridize",), "imperative")):
        r = subprocess.run([sys.executable, script, "--n", "1", "--steps", "1", "--batch-size", "8", "--top", "3",
                            *flags], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        head, *ops = r.stdout.strip().splitlines()
        assert head.startswith(f"ResNet-8, {mode}, batch 8, 1 steps: operator time per step"), head
        times = [float(line.split()[-4]) for line in ops]
        assert len(ops) == 3 and times == sorted(times, reverse=True) and times[0] > 0, r.stdout
        assert not [line for line in ops if "," in line.split()[0]], r.stdout
