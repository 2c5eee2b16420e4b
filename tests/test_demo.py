"""The `make demo` pipeline on a reduced budget, through the same function tools/demo.py calls."""
import json
import os

import pytest

from gluon_resnet.demo import run_demo, scaled_steps


def test_schedule_is_scaled_not_cut():
    assert scaled_steps(180) == [90, 135]
    assert scaled_steps(30) == [15, 22.5]


@pytest.mark.slow
def test_demo_pipeline_end_to_end(tmp_path):
    data, runs = str(tmp_path / "data" / "digits"), str(tmp_path / "runs" / "digits-resnet8")
    lines = []
    result = run_demo(epochs=8, n=1, data_dir=data, save_dir=runs, log=lines.append)
    assert result["onnx"] == os.path.join(runs, "model.onnx") and result["summary"]["depth"] == 8
    for f in ("val_error.png", "model.onnx", "verify.json", "summary.json", "metrics.jsonl", "model-symbol.json"):
        assert os.path.exists(os.path.join(runs, f)), f
    report = json.load(open(os.path.join(runs, "verify.json")))
    assert report["ok"] and report["mxnet"]["single"] == report["onnxruntime"]["single"]
    assert report["onnxruntime"]["single"]["top1_err"] < 0.25  # ResNet-8, 8 epochs; chance is 0.9
    text = "\n".join(lines)
    assert "val top-1 error" in text and "parity" in text and "model.onnx" in text
    # A second run reuses the packed data and starts the run over: no "already exists" failure.
    again = []
    run_demo(epochs=1, n=1, data_dir=data, save_dir=runs, log=again.append)
    assert again[0].startswith("reusing")
