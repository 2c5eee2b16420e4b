"""ONNX export and verification: graph hygiene, metadata, parity at every scale, equal errors."""
import json
import os
import shutil
import subprocess
import sys

import mxnet as mx
import numpy as np
import onnx
import pytest
from conftest import ROOT

from gluon_resnet import onnx_io
from gluon_resnet.errors import UserError
from gluon_resnet.verification import newest_run, verify

CASES = [("cifar_run", (32, 40, 48), 10), ("miniplaces_run", (112, 128, 160, 240), 3)]


@pytest.mark.parametrize("run,sizes,classes", CASES)
def test_export_is_clean_and_described(run, sizes, classes, request):
    save_dir = request.getfixturevalue(run)
    path = onnx_io.export(save_dir)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    weights = {i.name for i in model.graph.initializer}
    assert weights and [i.name for i in model.graph.input] == ["data"]
    assert [o.name for o in model.graph.output] == ["logits"]
    meta = onnx_io.read_metadata(path)
    dataset = json.load(open(os.path.join(save_dir, "best.json")))["dataset"]
    assert meta["classes"] == dataset["classes"] and len(meta["classes"]) == classes
    assert meta["mean_rgb"] == dataset["mean_rgb"] and meta["input_size"] == dataset["crop_size"]
    assert meta["multiscale_scales"] == list(sizes) and meta["model"].startswith("ResNet-")
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 3 and all(d.dim_param for d in (dims[0], dims[2], dims[3]))  # dynamic N, H, W


@pytest.mark.parametrize("run,sizes,classes", CASES)
def test_parity_at_every_scale_and_batch_size(run, sizes, classes, request):
    save_dir = request.getfixturevalue(run)
    path = onnx_io.export(save_dir)
    sess, provider = onnx_io.session(path)
    assert provider == "CPUExecutionProvider"
    predict = onnx_io.predictor(sess)
    prefix = os.path.join(save_dir, "model")
    net = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0000.params")
    rng = np.random.RandomState(0)
    for size in sizes:
        for batch in (1, 7):
            x = (rng.uniform(0, 255, (batch, 3, size, size)) - 120).astype(np.float32)
            ref, got = net(mx.nd.array(x)).asnumpy(), predict(x)
            assert got.shape == (batch, classes)
            assert np.abs(got - ref).max() / np.abs(ref).max() < 1e-4
            assert (got.argmax(1) == ref.argmax(1)).all()


@pytest.mark.parametrize("run", ["cifar_run", "miniplaces_run"])
def test_onnxruntime_errors_equal_mxnet(run, request):
    report = verify(request.getfixturevalue(run))
    assert report["ok"] and report["parity"]["top1_agreement"] == 1.0
    for key in ("single", "multiscale"):
        assert report["onnxruntime"][key] == report["mxnet"][key]
    assert report["throughput"]["mxnet"] > 0 and report["throughput"]["onnxruntime"] > 0


def test_evaluate_tool_matches_verify(cifar_run):
    tool = os.path.join(ROOT, "tools", "evaluate.py")
    out = subprocess.run([sys.executable, tool, "--save-dir", cifar_run, "--json"],
                         capture_output=True, text=True, check=True).stdout
    report = verify(cifar_run)
    assert json.loads(out.strip().splitlines()[-1]) == {k: report["mxnet"][k] for k in ("single", "multiscale")}


def test_verify_cli_writes_its_report(cifar_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(cifar_run, runs / "r")
    for f in ("model.onnx", "verify.json"):
        if (runs / "r" / f).exists():
            (runs / "r" / f).unlink()
    r = subprocess.run([sys.executable, os.path.join(ROOT, "onnx_export", "verify.py")], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "parity at 32,40,48px" in r.stdout and "OK" in r.stdout
    report = json.load(open(runs / "r" / "verify.json"))
    for key in ("max_abs_diff", "max_rel_diff", "top1_agreement"):
        assert key in report["parity"]
    for runtime in ("mxnet", "onnxruntime"):
        for kind in ("single", "multiscale"):
            assert {"top1_err", "top5_err"} <= set(report[runtime][kind])
    assert report["provider"] == "CPUExecutionProvider" and set(report["throughput"]) == {"mxnet", "onnxruntime"}
    assert os.path.exists(runs / "r" / "model.onnx")  # exported because it was missing


# ---------------------------------------------------------------- bad input

def test_no_run_found(tmp_path):
    with pytest.raises(UserError, match="no trained run under .*tools/train.py"):
        newest_run(str(tmp_path / "runs"))


def test_not_an_onnx_file(cifar_run, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 this is not protobuf" * 10)
    with pytest.raises(UserError, match="is not an ONNX model"):
        verify(cifar_run, onnx_path=str(junk))


def test_model_and_dataset_disagree(cifar_run, packed_miniplaces):
    with pytest.raises(UserError, match="predicts 10 classes but .* has 3"):
        verify(cifar_run, data_dir=packed_miniplaces)


def test_verify_cli_bad_input_exit_code(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "onnx_export", "verify.py")], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no trained run" in r.stderr and "Traceback" not in r.stderr


def test_model_input_size_and_dataset_disagree(cifar_run, packed_cifar, tmp_path):
    other = tmp_path / "packed48"
    shutil.copytree(packed_cifar, other)
    meta = json.load(open(other / "dataset.json"))
    meta["crop_size"] = 48
    json.dump(meta, open(other / "dataset.json", "w"))
    with pytest.raises(UserError, match="expects 32px inputs but .* is packed for 48px crops"):
        verify(cifar_run, data_dir=str(other))
