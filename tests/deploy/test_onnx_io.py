"""ONNX export: the portable graph's shape, metadata that names the epoch, --weights best."""
import collections
import json

import onnx
import pytest

from gluon_resnet.deploy import onnx_io
from gluon_resnet.train.report import Summary
from gluon_resnet.runs.folder import Run

from conftest import copy_run

CASES = [("cifar_run", (32, 40, 48), 10), ("miniplaces_run", (112, 128, 160, 240), 3)]


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
    props = onnx_io.read_props(path)
    state = Run(save_dir).last_checkpoint()
    assert props["classes"] == state.dataset.classes and len(props["classes"]) == classes
    assert props["mean_rgb"] == state.dataset.mean_rgb and props["input_size"] == state.dataset.crop_size
    assert props["multiscale_scales"] == list(sizes) and props["channel_order"] == "RGB"
    assert props["trained_epoch"] == state.epoch == 2 and props["epoch_selection"] == "final"
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 3 and [d.dim_param for d in (dims[0], dims[2], dims[3])] == ["batch", "height", "width"]


def test_export_best_names_its_epoch(tmp_path, digits_run):
    """The shared digits run (12 epochs); --weights best gives the best epoch, labelled as selected on the
    validation set."""
    save = copy_run(digits_run, tmp_path)
    summary = Summary(**json.load(open(save / "summary.json")))
    rows = Run(save).read_metrics()
    assert summary.epochs == 12 and summary.val_top1_err == rows[-1]["val_top1_err"]
    assert json.load(open(save / "summary.json"))["val_top1_err"] == rows[-1]["val_top1_err"]
    assert onnx_io.read_props(onnx_io.export(str(save)))["trained_epoch"] == 12
    best = min(rows, key=lambda r: r["val_top1_err"])
    props = onnx_io.read_props(onnx_io.export(str(save), str(tmp_path / "best.onnx"), which="best"))
    assert props["trained_epoch"] == best["epoch"] == summary.best_epoch
    assert props["epoch_selection"] == "best"
    _, exported = Run(save).export_mxnet("best")  # what `tools/train.py --weights best` writes at the end
    assert exported.epoch == best["epoch"]




def test_export_never_imports_the_training_loop():
    import subprocess
    import sys
    code = ("import sys, gluon_resnet.deploy.onnx_io, gluon_resnet.deploy.verification, gluon_resnet.deploy.quantization; "
            "print([m for m in sys.modules if m.startswith('gluon_resnet.train.training')])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr
