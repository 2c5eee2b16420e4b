"""benchmarks/bench.py's smallest configuration runs end to end, so the harness cannot rot."""
import json
import os
import subprocess
import sys

from conftest import ROOT


def test_smallest_configuration_runs_and_reports(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench.py"), "--quick", "--rounds", "1",
                        "--steps", "1", "--only", "train/imperative,train/pytorch", "--out", str(tmp_path / "out"),
                        "--cache", str(tmp_path / "cache")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "ResNet-20 training step: this project" in r.stdout
    [result] = [f for f in os.listdir(tmp_path / "out") if f.endswith(".json")]
    rows = json.load(open(tmp_path / "out" / result))["rows"]
    ours = rows["train/imperative/ResNet-20"]
    assert ours["status"] == "ok" and ours["images_per_second"] > 0 and ours["ratio"] == 1.0
    assert ours["peak_rss_mib"] > 100
    torch = rows["train/pytorch/ResNet-20"]  # an optional peer: measured, or said to be absent
    assert torch["status"] in ("ok", "not installed")
    assert os.path.exists(tmp_path / "out" / result.replace(".json", ".png"))


def test_bf16_rows_run_where_the_cpu_has_bf16_and_say_so_elsewhere(tmp_path):
    from gluon_resnet.model.precision import bf16_supported
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench.py"), "--quick", "--rounds", "1",
                        "--steps", "1", "--only", "train/imperative,train/bf16", "--out", str(tmp_path / "out"),
                        "--cache", str(tmp_path / "cache")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    [result] = [f for f in os.listdir(tmp_path / "out") if f.endswith(".json")]
    bf16 = json.load(open(tmp_path / "out" / result))["rows"]["train/bf16/ResNet-20"]
    if bf16_supported():
        assert bf16["status"] == "ok" and bf16["images_per_second"] > 0 and bf16["ratio"] > 0
    else:
        assert bf16["status"] == "no bf16 CPU"
