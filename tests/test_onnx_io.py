"""ONNX export: portable graph, metadata naming the epoch, the same numbers in every installed runtime."""
import collections
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

from gluon_resnet import onnx_io, runtimes
from gluon_resnet.errors import UserError
from gluon_resnet.run import Run
from gluon_resnet.verification import verify

CASES = [("cifar_run", (32, 40, 48), 10), ("miniplaces_run", (112, 128, 160, 240), 3)]
INSTALLED = [r for r in runtimes.RUNTIMES if r != "openvino-bf16" and runtimes.installed(r)]


@pytest.mark.parametrize("run,sizes,classes", CASES)
def test_export_is_portable_and_described(run, sizes, classes, request):
    save_dir = request.getfixturevalue(run)
    path = onnx_io.export(save_dir)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    ops = collections.Counter(n.op_type for n in model.graph.node)
    # BatchNorm folded, no shape-computing subgraph, the shortcut as MaxPool(1x1, stride 2) + Pad.
    assert not {"BatchNormalization", "Shape", "ConstantOfShape", "Concat", "Slice"} & set(ops)
    assert ops["MaxPool"] == ops["Pad"] == len(sizes) - 1  # one per stage after the first (CIFAR 2, Mini-Places2 3)
    assert ops["Gemm"] == 1 and [i.name for i in model.graph.input] == ["data"]
    used = {i for n in model.graph.node for i in n.input}
    assert all(t.name in used for t in model.graph.initializer)  # no unused initializer
    assert [o.name for o in model.graph.output] == ["logits"]
    meta = onnx_io.read_metadata(path)
    state = Run(save_dir).latest()
    assert meta["classes"] == state.dataset.classes and len(meta["classes"]) == classes
    assert meta["mean_rgb"] == state.dataset.mean_rgb and meta["input_size"] == state.dataset.crop_size
    assert meta["multiscale_scales"] == list(sizes) and meta["channel_order"] == "RGB"
    assert meta["trained_epoch"] == state.epoch == 2 and meta["epoch_selection"] == "final"
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 3 and [d.dim_param for d in (dims[0], dims[2], dims[3])] == ["batch", "height", "width"]


@pytest.mark.parametrize("run", ["cifar_run", "miniplaces_run"])
def test_onnxruntime_symbolic_shape_inference_passes(run, request):
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
    model = onnx.load(onnx_io.export(request.getfixturevalue(run)))
    inferred = SymbolicShapeInference.infer_shapes(model)  # raises "Incomplete symbolic shape inference"
    out = inferred.graph.output[0].type.tensor_type.shape.dim
    assert out[0].dim_param == "batch" and out[1].dim_value == model.graph.output[0].type.tensor_type.shape.dim[1].dim_value


def test_option_a_shortcut_rewrite_keeps_the_arithmetic():
    """The rewritten shortcut equals x[:, :, ::2, ::2] with zero channels appended, also at odd sizes."""
    from gluon_resnet.models import ZeroPadShortcut
    from gluon_resnet.onnx_graph import portable
    block = ZeroPadShortcut(3, 5, 2)
    block.initialize()
    block.hybridize()
    x = np.random.RandomState(0).uniform(-3, 3, (2, 3, 7, 9)).astype(np.float32)
    block(mx.nd.array(x))
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        block.export(os.path.join(d, "b"), 0)
        raw = os.path.join(d, "raw.onnx")
        mx.onnx.export_model(os.path.join(d, "b-symbol.json"), os.path.join(d, "b-0000.params"), [(2, 3, 7, 9)],
                             [np.float32], raw, dynamic=True, dynamic_input_shapes=[(None, 3, None, None)])
        model = onnx.load(raw)
    name = model.graph.output[0].name
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 5
    model = portable(model, "y", 5)
    from onnx.reference import ReferenceEvaluator
    got = ReferenceEvaluator(model).run(None, {"data": x})[0]
    expected = np.concatenate([x[:, :, ::2, ::2], np.zeros((2, 2, 4, 5), np.float32)], axis=1)
    np.testing.assert_array_equal(got, expected)
    assert name and {n.op_type for n in model.graph.node} == {"MaxPool", "Pad"}


@pytest.mark.parametrize("runtime", INSTALLED)
@pytest.mark.parametrize("run,sizes,classes", CASES)
def test_every_runtime_agrees_with_mxnet_at_two_sizes(runtime, run, sizes, classes, request):
    save_dir = request.getfixturevalue(run)
    path = onnx_io.export(save_dir)
    predict = runtimes.load(runtime, path)
    net, _ = Run(save_dir).load_model("final")
    net.hybridize()
    rng = np.random.RandomState(0)
    for size, batch in ((sizes[0], 1), (sizes[-1], 3)):
        x = (rng.uniform(0, 255, (batch, 3, size, size)) - 120).astype(np.float32)
        ref, got = net(mx.nd.array(x)).asnumpy(), predict(x)
        assert got.shape == (batch, classes)
        assert np.abs(got - ref).max() / np.abs(ref).max() < 1e-4, runtime
        assert (got.argmax(1) == ref.argmax(1)).all()


def test_the_demo_runtimes_are_installed():
    """make test installs onnxruntime, OpenVINO and OpenCV: a verify that skipped them would prove nothing."""
    assert {"onnxruntime", "openvino", "opencv", "reference"} <= set(INSTALLED)


@pytest.mark.parametrize("run", ["cifar_run", "miniplaces_run"])
def test_verify_reports_equal_errors_in_every_runtime(run, request):
    report = verify(request.getfixturevalue(run))
    assert report["ok"] and set(report["runtimes"]) == {"onnxruntime", "openvino", "opencv"}
    for name, row in report["runtimes"].items():
        assert row["status"] == "ran" and row["judged_by"] == "parity" and row["agreement"]["top1_agreement"] == 1
        for key in ("single", "multiscale"):
            assert row[key] == report["mxnet"][key], name
        assert row["images_per_second"] > 0


def test_absent_runtime_is_reported_absent_not_passed(cifar_run, monkeypatch):
    real = runtimes.installed
    monkeypatch.setattr(runtimes, "installed", lambda name: name != "opencv" and real(name))
    report = verify(cifar_run, runtime_names=["onnxruntime", "opencv"])
    assert report["runtimes"]["opencv"] == {"status": "absent", "ok": None}
    assert report["ok"]  # onnxruntime ran and passed
    report = verify(cifar_run, runtime_names=["opencv"])
    assert not report["ok"]  # nothing ran: not a pass


def test_export_best_names_its_epoch(tmp_path, packed_digits):
    """4 epochs; --export best gives the best epoch, labelled as selected on the validation set."""
    from conftest import train_args
    from gluon_resnet.training import fit
    save = tmp_path / "run"
    summary = fit(train_args("--data-dir", packed_digits, "--n", 1, "--num-epochs", 4, "--lr", 0.5,
                             "--save-dir", save))
    rows = Run(save).read_metrics()
    assert summary.epochs == 4 and summary.val_top1_err == rows[-1]["val_top1_err"]
    assert json.load(open(save / "summary.json"))["val_top1_err"] == rows[-1]["val_top1_err"]
    assert onnx_io.read_metadata(onnx_io.export(str(save)))["trained_epoch"] == 4
    best = min(rows, key=lambda r: r["val_top1_err"])
    meta = onnx_io.read_metadata(onnx_io.export(str(save), str(tmp_path / "best.onnx"), which="best"))
    assert meta["trained_epoch"] == best["epoch"] == summary.best_epoch
    assert meta["epoch_selection"] == "best epoch, selected on the validation set"


def test_evaluate_tool_matches_verify(cifar_run):
    tool = os.path.join(ROOT, "tools", "evaluate.py")
    out = subprocess.run([sys.executable, tool, "--save-dir", cifar_run, "--json"],
                         capture_output=True, text=True, check=True).stdout
    report = verify(cifar_run, runtime_names=["onnxruntime"])
    assert json.loads(out.strip().splitlines()[-1]) == {k: report["mxnet"][k] for k in ("single", "multiscale")}


def test_verify_cli_writes_its_report(cifar_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(cifar_run, runs / "r")
    for f in ("model.onnx", "verify.json", "model.int8.onnx"):
        if (runs / "r" / f).exists():
            (runs / "r" / f).unlink()
    r = subprocess.run([sys.executable, os.path.join(ROOT, "onnx_export", "verify.py"), "--runtime",
                        "onnxruntime,opencv"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "onnxruntime (fp32)" in r.stdout and "opencv (fp32)" in r.stdout and "OK" in r.stdout
    report = json.load(open(runs / "r" / "verify.json"))["fp32"]
    assert set(report["runtimes"]) == {"onnxruntime", "opencv"}
    for row in report["runtimes"].values():
        assert {"max_abs_diff", "max_rel_diff", "top1_agreement"} <= set(row["agreement"])
        assert {"top1_err", "top5_err"} <= set(row["single"]) and {"top1_err", "top5_err"} <= set(row["multiscale"])
    assert os.path.exists(runs / "r" / "model.onnx")  # exported because it was missing


# ---------------------------------------------------------------- bad input

def test_no_run_found(tmp_path):
    with pytest.raises(UserError, match="no trained run under .*tools/train.py"):
        Run.newest(str(tmp_path / "runs"))


def test_not_an_onnx_file(cifar_run, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 this is not protobuf" * 10)
    with pytest.raises(UserError, match="is not an ONNX model"):
        verify(cifar_run, onnx_path=str(junk))


def test_onnx_file_not_made_here(cifar_run, tmp_path):
    model = onnx.load(onnx_io.export(cifar_run))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "foreign.onnx"))
    with pytest.raises(UserError, match="not exported by gluon-resnet: its metadata lacks classes"):
        verify(cifar_run, onnx_path=str(tmp_path / "foreign.onnx"))


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
