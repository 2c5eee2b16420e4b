"""The `make demo` pipeline on a reduced budget, through the same function tools/demo.py calls."""
import json
import os

import pytest

from gluon_resnet.cli.walkthrough import run_demo, scaled_steps


def test_schedule_is_scaled_not_cut():
    assert scaled_steps(180) == [90, 135]
    assert scaled_steps(30) == [15, 22.5]


@pytest.mark.slow
def test_demo_pipeline_end_to_end(tmp_path):
    data, runs = str(tmp_path / "data" / "digits"), str(tmp_path / "runs" / "digits-resnet8")
    lines = []
    result = run_demo(epochs=8, n=1, data_dir=data, save_dir=runs, log=lines.append)
    assert result["onnx"] == os.path.join(runs, "model.onnx") and result["summary"].depth == 8
    for f in ("val_error.png", "model.onnx", "model.int8.onnx", "verify.json", "summary.json", "metrics.jsonl",
              "model-symbol.json"):
        assert os.path.exists(os.path.join(runs, f)), f
    reports = json.load(open(os.path.join(runs, "verify.json")))
    fp32, int8 = reports["fp32"], reports["int8"]
    assert fp32["ok"] and set(fp32["runtimes"]) == {"onnxruntime", "openvino", "opencv"}
    assert fp32["runtimes"]["onnxruntime"]["single"] == fp32["mxnet"]["single"]
    assert fp32["mxnet"]["single"]["top1_err"] < 0.25  # ResNet-8, 8 epochs; chance is 0.9
    # The headline is the final epoch's, in summary.json, the MXNet export and the ONNX metadata alike.
    summary = json.load(open(os.path.join(runs, "summary.json")))
    assert fp32["epoch"] == summary["epochs"] == summary["exported_epoch"] == 8
    assert abs(summary["val_top1_err"] - fp32["mxnet"]["single"]["top1_err"]) < 1e-9
    assert int8["model"] == "int8" and int8["runtimes"]["onnxruntime"]["judged_by"] == "accuracy"
    text = "\n".join(lines)
    assert "at the final epoch" in text and "selected on the validation set" in text and "int8" in text
    from gluon_resnet.model.precision import bf16_outlook
    assert [line for line in lines if line.startswith("  bfloat16 ")] == [f"  bfloat16          {bf16_outlook()}"]
    # A second run reuses the packed data and starts the run over: no "already exists" failure.
    again = []
    run_demo(epochs=1, n=1, data_dir=data, save_dir=runs, log=again.append)
    assert again[0].startswith("reusing")
