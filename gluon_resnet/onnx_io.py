"""ONNX interchange: export a run's model with `mx.onnx.export_model`, tidy the graph, describe it in
metadata_props, and run it in onnxruntime.

A consumer holding only the .onnx file can preprocess correctly: the metadata gives classes, RGB mean,
input size and layout, and the multiscale protocol.
"""
import json
import os

import numpy as np

from .errors import UserError

OUTPUT = "logits"


def strip_initializer_inputs(model):
    """MXNet's exporter lists every weight among the graph inputs; onnxruntime then treats them as
    overridable, warns once per weight and skips constant folding and conv+BN fusion."""
    weights = {init.name for init in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return model


def rename_output(model, name=OUTPUT):
    old = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = [name if o == old else o for o in node.output]
        node.input[:] = [name if i == old else i for i in node.input]
    model.graph.output[0].name = name
    return model


def name_dims(model, num_classes):
    """Name the dynamic axes (the exporter leaves them anonymous): data [batch, 3, height, width],
    logits [batch, classes]."""
    for dim, name in zip(model.graph.input[0].type.tensor_type.shape.dim, ("batch", None, "height", "width")):
        if name:
            dim.dim_param = name
    out = model.graph.output[0].type.tensor_type.shape.dim
    out[0].dim_param, out[1].dim_value = "batch", num_classes
    return model


def metadata_for(state):
    """What a consumer needs, as strings (lists and numbers JSON-encoded)."""
    from .recipes import RECIPES
    from .training import depth_of
    meta, args = state["dataset"], state["args"]
    depth = depth_of(meta, args["n"])
    return {
        "model": f"ResNet-{depth}", "depth": str(depth), "n": str(args["n"]), "shortcut": args["shortcut"],
        "dataset": meta["name"], "classes": json.dumps(meta["classes"]), "num_classes": str(meta["num_classes"]),
        "mean_rgb": json.dumps(meta["mean_rgb"]), "input_size": str(meta["crop_size"]),
        "input_format": "float32 NCHW, RGB, 0-255 pixel values minus mean_rgb per channel (no std division)",
        "output": "logits; apply softmax for probabilities",
        "multiscale_scales": json.dumps(list(RECIPES[meta["family"]].eval_scales)),
        "multiscale_protocol": "resize the whole image to each scale x scale (shorter side, centre square), one "
                               "forward pass per scale, average the softmax probabilities over the scales",
        "trained_epoch": str(state["epoch"]),
    }


def read_metadata(path_or_model):
    model = load(path_or_model) if isinstance(path_or_model, str) else path_or_model
    out = {}
    for p in model.metadata_props:
        try:
            out[p.key] = json.loads(p.value)
        except ValueError:
            out[p.key] = p.value
    return out


def load(path):
    import onnx
    if not os.path.isfile(path):
        raise UserError(f"{path} does not exist; export it with `python onnx_export/export.py --save-dir RUN`")
    try:
        model = onnx.load(path)
    except Exception as e:  # protobuf raises DecodeError or RuntimeWarning-like errors on junk
        raise UserError(f"{path} is not an ONNX model ({type(e).__name__}); export it again with "
                        f"`python onnx_export/export.py --save-dir RUN`") from None
    if not model.graph.node:
        raise UserError(f"{path} is not an ONNX model (no graph); export it again")
    return model


def export(save_dir, out=None):
    """`<save_dir>/model.onnx` from the run's exported MXNet model (made first if missing)."""
    import mxnet as mx
    import onnx

    from .checkpoint import read_json
    from .training import export_best
    best = os.path.join(save_dir, "best.json")
    if not os.path.exists(best):
        raise UserError(f"{save_dir} holds no trained model (best.json): train it with tools/train.py first")
    state = read_json(best)
    prefix = os.path.join(save_dir, "model")
    if not (os.path.exists(prefix + "-symbol.json") and os.path.exists(prefix + "-0000.params")):
        export_best(save_dir)
    out = out or os.path.join(save_dir, "model.onnx")
    crop = state["dataset"]["crop_size"]
    tmp = f"{out}.tmp-{os.getpid()}"
    try:
        mx.onnx.export_model(prefix + "-symbol.json", prefix + "-0000.params", [(1, 3, crop, crop)], [np.float32],
                             tmp, dynamic=True, dynamic_input_shapes=[(None, 3, None, None)])
        model = name_dims(rename_output(strip_initializer_inputs(onnx.load(tmp))), state["dataset"]["num_classes"])
        model.producer_name, model.doc_string = "gluon-resnet", f"neon model-zoo ResNet trained in {save_dir}"
        onnx.helper.set_model_props(model, metadata_for(state))
        onnx.checker.check_model(model)
        onnx.save(model, tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out


def session(path_or_model, provider=None):
    """(onnxruntime session, provider): CUDA when onnxruntime-gpu offers it, else CPU."""
    import onnxruntime as ort
    available = ort.get_available_providers()
    if provider and provider not in available:
        raise UserError(f"--provider {provider} is not available in this onnxruntime ({', '.join(available)})")
    provider = provider or ("CUDAExecutionProvider" if "CUDAExecutionProvider" in available else "CPUExecutionProvider")
    # Loaded here (not by onnxruntime from the path) for a clear message when the file is not ONNX.
    model = load(path_or_model) if isinstance(path_or_model, str) else path_or_model
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=[provider]), provider


def predictor(sess):
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: np.ascontiguousarray(x, np.float32)})[0]
