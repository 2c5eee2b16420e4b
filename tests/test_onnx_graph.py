"""The portable graph: onnxruntime's symbolic shape inference passes, and the option-A rewrite keeps the
arithmetic exactly."""
import os
import tempfile

import mxnet as mx
import numpy as np
import onnx
import pytest

from gluon_resnet import onnx_io


@pytest.mark.parametrize("run", ["cifar_run", "miniplaces_run"])
def test_onnxruntime_symbolic_shape_inference_passes(run, request):
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
    model = onnx.load(onnx_io.export(request.getfixturevalue(run)))
    inferred = SymbolicShapeInference.infer_shapes(model)  # raises "Incomplete symbolic shape inference"
    out = inferred.graph.output[0].type.tensor_type.shape.dim
    classes = model.graph.output[0].type.tensor_type.shape.dim[1].dim_value
    assert out[0].dim_param == "batch" and out[1].dim_value == classes


def test_option_a_shortcut_rewrite_keeps_the_arithmetic():
    """The rewritten shortcut equals x[:, :, ::2, ::2] with zero channels appended, also at odd sizes."""
    from gluon_resnet.models import ZeroPadShortcut
    from gluon_resnet.onnx_graph import portable
    block = ZeroPadShortcut(3, 5, 2)
    block.initialize()
    block.hybridize()
    x = np.random.RandomState(0).uniform(-3, 3, (2, 3, 7, 9)).astype(np.float32)
    block(mx.nd.array(x))
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


