"""The `make demo` pipeline on a reduced budget, through the same function tools/demo.py calls."""
import json
import os
import shutil

import pytest

from gluon_resnet.cli.walkthrough import run_demo, scaled_steps

from conftest import copy_run


def test_schedule_is_scaled_not_cut():
    assert scaled_steps(180) == [90, 135]
    assert scaled_steps(30) == [15, 22.5]


@pytest.mark.slow
def test_demo_pipeline_end_to_end(tmp_path, packed_digits, digits_run):
    """A second `make demo`: the digits packed already, and a run where the demo writes (the shared digits run,
    12 epochs). The demo reuses the data and starts the run over. (The first `make demo`, which packs, runs in
    test_documented_commands.)"""
    data = str(tmp_path / "data" / "digits")
    shutil.copytree(packed_digits, data)
    runs = str(copy_run(digits_run, tmp_path / "runs"))
    lines = []
    result = run_demo(epochs=8, n=1, data_dir=data, save_dir=runs, log=lines.append)
    assert lines[0].startswith(f"reusing {data}: 1437 train / 360 val digits")
    assert result["onnx"] == os.path.join(runs, "model.onnx") and result["summary"].depth == 8
    for f in ("val_error.png", "model.onnx", "model.int8.onnx", "verify.json", "summary.json", "metrics.jsonl",
              "model-symbol.json"):
        assert os.path.exists(os.path.join(runs, f)), f
    # Started over: the 8 epochs' records only, none of the old run's 12.
    assert [json.loads(line)["epoch"] for line in open(os.path.join(runs, "metrics.jsonl"))] == list(range(1, 9))
    assert not [f for f in os.listdir(runs) if f.startswith("checkpoint-00") and int(f[11:15]) > 8]
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
