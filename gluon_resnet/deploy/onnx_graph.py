"""Turn the graph MXNet's ONNX converter writes (opset 13) into one that onnxruntime (and its
quantization tools), OpenVINO, OpenCV DNN 4.11 and `onnx.reference` all run (each checked by verify.py).

What the exporter writes, and what this module makes of it:
- every weight is also a graph input (runtimes then may not fold or fuse): inputs are `data` only;
- the option-A shortcut becomes Slice -> Shape -> ConstantOfShape -> Concat, a shape-computing
  subgraph OpenCV 4.11 rejects ("Inconsistent shape for ConcatLayer"): it becomes
  a 1x1 stride-2 MaxPool and a constant-pads `Pad` on the channel axis, the same arithmetic (neon's
  frozen identity projection: every second pixel, zero channels appended);
- inference-mode BatchNorm after a Conv is folded into the Conv's weights and bias, and the head's
  Dense (a Gemm with a 0-d zero bias, which quantize_static trips on) + BatchNorm into one Gemm with
  a real bias;
- an identity Reshape (target shape all zeros: "keep every dimension") is dropped: the model puts one
  before its global pooling for MXNet's sake (model/resnet.py, GlobalAvgPool);
- initializers nothing reads are dropped; IR version 8, which older runtimes read too.

Why by hand: onnxslim folds Conv+BN but leaves Gemm+BN and the shortcut's shape subgraph (it cannot
be constant with dynamic height and width); onnxoptimizer's `fuse_bn_into_conv` writes the fold as
seven arithmetic nodes per BatchNorm. Both patterns here are two small, exact rewrites.
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper

OPSET, IR_VERSION = 13, 8


class Graph:
    """Index of a GraphProto: producer and consumers of each tensor, initializers as numpy."""

    def __init__(self, model):
        self.model, self.g = model, model.graph
        self.init = {t.name: t for t in self.g.initializer}

    def producer(self, name):
        return next((n for n in self.g.node if name in n.output), None)

    def consumers(self, name):
        return [n for n in self.g.node if name in n.input]

    def array(self, name):
        return numpy_helper.to_array(self.init[name])

    def set_array(self, name, value):
        t = numpy_helper.from_array(np.ascontiguousarray(value), name)
        if name in self.init:
            self.init[name].CopyFrom(t)
        else:
            self.g.initializer.append(t)
            self.init[name] = self.g.initializer[-1]

    def remove(self, nodes, at=None, new=()):
        """Drop `nodes` (known by their outputs, which are unique); put `new` where `at` stood."""
        gone = {n.output[0] for n in nodes}
        keep = []
        for n in self.g.node:
            if at is not None and n.output[0] == at.output[0]:
                keep.extend(new)
            if n.output[0] not in gone:
                keep.append(n)
        del self.g.node[:]
        self.g.node.extend(keep)

    def rename_tensor(self, old, new):
        for n in self.g.node:
            n.input[:] = [new if i == old else i for i in n.input]
            n.output[:] = [new if o == old else o for o in n.output]
        for o in self.g.output:
            if o.name == old:
                o.name = new


def strip_initializer_inputs(model):
    """Weights stay initializers only: onnxruntime then folds constants and fuses Conv + ReLU."""
    weights = {t.name for t in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return model


class UnexpectedGraph(ValueError):
    """The exporter wrote something this module does not know: rewriting it could change the results."""


def _ints(g, name):
    return [int(v) for v in np.atleast_1d(g.array(name))]


def _check_shortcut(g, concat, fill):
    """The nodes of one zero-pad shortcut, exactly as MXNet's converter writes ZeroPadShortcut:
    Concat(axis 1)[Slice(x, steps 1,1,s,s), ConstantOfShape(0, Shape(Slice(that slice, channels 0:k)))].
    Returns (strided slice, shape, narrow slice, stride, k); raises UnexpectedGraph on any difference."""
    def fail(why):
        raise UnexpectedGraph(f"{concat.output[0]}: {why}; not the zero-pad shortcut this rewrite knows")
    attrs = {a.name: helper.get_attribute_value(a) for a in concat.attribute}
    if attrs.get("axis") != 1 or len(concat.input) != 2 or concat.input[1] != fill.output[0]:
        fail("the Concat is not [subsampled input, zeros] on the channel axis")
    value = next((helper.get_attribute_value(a) for a in fill.attribute if a.name == "value"), None)
    if value is None or numpy_helper.to_array(value).tolist() != [0.0]:
        fail("ConstantOfShape does not fill with 0")
    shape, strided = g.producer(fill.input[0]), g.producer(concat.input[0])
    narrow = g.producer(shape.input[0]) if shape is not None and shape.op_type == "Shape" else None
    if narrow is None or narrow.op_type != "Slice" or strided is None or strided.op_type != "Slice":
        fail("the zeros' shape is not Shape(Slice) or the input is not a Slice")
    if narrow.input[0] != strided.output[0]:
        fail("the zeros' shape does not come from the subsampled input")
    if len(strided.input) != 5 or _ints(g, strided.input[3]) != [0, 1, 2, 3] or _ints(g, strided.input[1]) != [0] * 4 \
            or min(_ints(g, strided.input[2])) < 2 ** 31 - 1:
        fail("the subsampling Slice does not take every axis from 0 to the end")
    steps = _ints(g, strided.input[4])
    if steps[:2] != [1, 1] or steps[2] != steps[3] or steps[2] < 1:
        fail(f"the subsampling steps are {steps}, not 1, 1, s, s")
    if len(narrow.input) != 4 or _ints(g, narrow.input[3]) != [1] or _ints(g, narrow.input[1]) != [0]:
        fail("the zeros' channels are not a Slice 0:k of axis 1")
    return strided, shape, narrow, steps[2], _ints(g, narrow.input[2])[0]


def rewrite_zero_pad_shortcuts(model):
    """Concat(Slice(x), ConstantOfShape(Shape(Slice(Slice(x))))) -> Pad(MaxPool(x)), zeros appended on
    the channel axis. Every Concat fed by a ConstantOfShape must be that exact pattern (else
    UnexpectedGraph). Returns how many shortcuts were rewritten.

    The subsampling is a 1x1 MaxPool with the block's stride: exactly x[:, :, ::s, ::s] (the max of one
    pixel is that pixel), and its output size floor((H - 1) / s) + 1 is the same expression as the
    strided 3x3 Conv's, so symbolic shape inference sees that the residual Add's operands match (a
    strided Slice gives ceil(H / s), equal but not provably so to onnxruntime's sympy)."""
    g, done = Graph(model), 0
    for concat in [n for n in g.g.node if n.op_type == "Concat"]:
        fills = [p for p in map(g.producer, concat.input) if p is not None and p.op_type == "ConstantOfShape"]
        if not fills:
            continue
        strided, shape, narrow, stride, extra = _check_shortcut(g, concat, fills[0])
        prefix = concat.output[0]
        g.set_array(f"{prefix}_pads", np.array([0, 0, 0, 0, 0, extra, 0, 0], np.int64))  # N C H W begins, ends
        pool = helper.make_node("MaxPool", [strided.input[0]], [f"{prefix}_subsample"], kernel_shape=[1, 1],
                                strides=[stride, stride], name=f"{prefix}_subsample")
        pad = helper.make_node("Pad", [pool.output[0], f"{prefix}_pads"], [concat.output[0]], mode="constant",
                               name=f"{prefix}_pad")
        g.remove([concat, fills[0], shape, narrow, strided], at=strided, new=[pool, pad])
        done += 1
    left = [n.op_type for n in g.g.node if n.op_type in ("ConstantOfShape", "Shape")]
    if left:
        raise UnexpectedGraph(f"the graph still computes shapes ({', '.join(sorted(set(left)))}) after the rewrite")
    return done


def _bn_scale_shift(g, bn):
    gamma, beta, mean, var = (g.array(name).astype(np.float64) for name in bn.input[1:5])
    eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def fold_batchnorms(model):
    """BatchNormalization (inference) after a Conv, or after a Gemm with transB = 1, folded into that
    layer: w' = w * scale per output channel, b' = (b - mean) * scale + beta. Returns how many."""
    g, folded = Graph(model), 0
    for bn in [n for n in g.g.node if n.op_type == "BatchNormalization"]:
        layer = g.producer(bn.input[0])
        if layer is None or layer.op_type not in ("Conv", "Gemm") or len(g.consumers(layer.output[0])) != 1:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in layer.attribute}
        if layer.op_type == "Gemm" and (attrs.get("transB") != 1 or attrs.get("transA", 0) != 0
                                        or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0):
            continue
        scale, shift = _bn_scale_shift(g, bn)
        w = g.array(layer.input[1]).astype(np.float64)
        bias = g.array(layer.input[2]).astype(np.float64) if len(layer.input) > 2 else np.zeros(w.shape[0])
        bias = np.broadcast_to(bias, (w.shape[0],))
        g.set_array(layer.input[1], (w * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32))
        bias_name = f"{layer.output[0]}_folded_bias"
        g.set_array(bias_name, (bias * scale + shift).astype(np.float32))
        layer.input[2:] = [bias_name]
        g.remove([bn])
        g.rename_tensor(layer.output[0], bn.output[0])
        folded += 1
    return folded


def drop_identity_reshapes(model):
    """Reshape to a constant shape of zeros without allowzero copies every dimension: its consumers read
    its input instead. Returns how many."""
    g, dropped = Graph(model), 0
    for node in [n for n in g.g.node if n.op_type == "Reshape"]:
        allowzero = next((a.i for a in node.attribute if a.name == "allowzero"), 0)
        if allowzero or node.input[1] not in g.init or any(_ints(g, node.input[1])):
            continue
        if node.output[0] in {o.name for o in g.g.output}:
            continue
        g.remove([node])
        g.rename_tensor(node.output[0], node.input[0])
        dropped += 1
    return dropped


def drop_unused_initializers(model):
    used = {i for n in model.graph.node for i in n.input}
    keep = [t for t in model.graph.initializer if t.name in used]
    dropped = len(model.graph.initializer) - len(keep)
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    return dropped


def name_io(model, output, num_classes):
    """Output renamed `output`; dynamic axes named: data [batch, 3, height, width], output [batch, C]."""
    Graph(model).rename_tensor(model.graph.output[0].name, output)
    for dim, name in zip(model.graph.input[0].type.tensor_type.shape.dim, ("batch", None, "height", "width")):
        if name:
            dim.dim_param = name
    out = model.graph.output[0].type.tensor_type.shape.dim
    out[0].dim_param, out[1].dim_value = "batch", num_classes
    return model


def portable(model, output, num_classes):
    """All of the above, in order; the model is checked and shape-inferred afterwards."""
    strip_initializer_inputs(model)
    rewrite_zero_pad_shortcuts(model)
    fold_batchnorms(model)
    drop_identity_reshapes(model)
    drop_unused_initializers(model)
    name_io(model, output, num_classes)
    del model.graph.value_info[:]
    opsets = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if opsets != [OPSET]:
        raise UnexpectedGraph(f"the exporter wrote opset {opsets}, not {OPSET}")
    model.ir_version = IR_VERSION  # opset 13 needs IR 7 or later; 8 is what onnxruntime 1.8+ and OpenCV read
    onnx.checker.check_model(model)
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)
