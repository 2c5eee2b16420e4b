"""The portable graph: onnxruntime's symbolic shape inference passes, and the option-A rewrite keeps the
arithmetic exactly."""
import os
import tempfile

import numpy as np
import onnx
import pytest

from gluon_resnet.compat import mx
from gluon_resnet.deploy import onnx_io


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
    from gluon_resnet.deploy.onnx_graph import portable
    from gluon_resnet.model.resnet import ZeroPadShortcut
    block = ZeroPadShortcut(3, 5, 2)
    block.initialize()
    block.hybridize()
    x = np.random.RandomState(0).uniform(-3, 3, (2, 3, 7, 9)).astype(np.float32)
    block(mx.nd.array(x))
    model = _converted(block, 9)
    name = model.graph.output[0].name
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = 5
    model = portable(model, "y", 5)
    from onnx.reference import ReferenceEvaluator
    got = ReferenceEvaluator(model).run(None, {"data": x})[0]
    expected = np.concatenate([x[:, :, ::2, ::2], np.zeros((2, 2, 4, 5), np.float32)], axis=1)
    np.testing.assert_array_equal(got, expected)
    assert name and {n.op_type for n in model.graph.node} == {"MaxPool", "Pad"}




def _converted(block, size):
    with tempfile.TemporaryDirectory() as d:
        block.export(os.path.join(d, "b"), 0)
        return onnx_io.convert(os.path.join(d, "b"), size)


def test_the_exporter_is_asked_for_opset_13():
    from gluon_resnet.model.resnet import ModelSpec
    from gluon_resnet.runs.folder import export_hybridized
    net = ModelSpec("cifar", 1).build(ctx=[mx.cpu()])
    with tempfile.TemporaryDirectory() as d:
        export_hybridized(net, 32, os.path.join(d, "m"))
        model = onnx_io.convert(os.path.join(d, "m"), 32)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 13)]
    onnx.checker.check_model(model)  # the nodes really are opset-13 nodes, not relabelled


@pytest.mark.parametrize("change,why", [
    (lambda g, concat: g.set_array(_input_of(g, concat, "Slice", 4), np.array([1, 1, 2, 1])), "steps"),
    (lambda g, concat: concat.attribute[0].CopyFrom(onnx.helper.make_attribute("axis", 2)), "channel axis"),
])
def test_a_shortcut_that_differs_from_the_known_pattern_fails_loudly(change, why):
    from gluon_resnet.deploy.onnx_graph import Graph, UnexpectedGraph, rewrite_zero_pad_shortcuts
    from gluon_resnet.model.resnet import ZeroPadShortcut
    block = ZeroPadShortcut(3, 5, 2)
    block.initialize()
    block.hybridize()
    block(mx.nd.zeros((1, 3, 8, 8)))
    model = _converted(block, 8)
    g = Graph(model)
    change(g, next(n for n in model.graph.node if n.op_type == "Concat"))
    with pytest.raises(UnexpectedGraph, match=why):
        rewrite_zero_pad_shortcuts(model)


def _input_of(g, concat, op, k):
    """Input k of the `op` node feeding `concat` (the subsampling Slice's steps, for k = 4)."""
    return next(p for p in map(g.producer, concat.input) if p is not None and p.op_type == op).input[k]
