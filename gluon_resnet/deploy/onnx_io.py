"""ONNX interchange: export a run's model with MXNet's ONNX converter at opset 13, make the graph portable
(onnx_graph), describe it in metadata_props, and read such a file back.

A consumer holding only the .onnx file can preprocess correctly: the metadata gives classes, RGB mean,
channel order, input size and layout, the multiscale protocol, and which epoch the weights are from.
"""
import json
import os
import tempfile

from .. import __version__
from ..errors import Command, UserError
from ..fileio import atomic
from ..model.export import export_hybridized
from ..runs.folder import Run
from .onnx_graph import OPSET, portable

EXPORT = Command("onnx_export/export.py", "--save-dir", "RUN")  # how a model is made
OUTPUT = "logits"
PRODUCER = "gluon-resnet"
REQUIRED = ("classes", "mean_rgb", "input_size", "channel_order", "multiscale_scales")


def props_for(state, selection):
    """What a consumer needs, as strings (lists and numbers JSON-encoded)."""
    meta, spec = state.dataset, state.model
    return {
        "model": spec.name, "depth": str(spec.depth), "n": str(spec.n), "shortcut": spec.shortcut,
        "dataset": meta.name, "classes": json.dumps(meta.classes), "num_classes": str(meta.num_classes),
        "mean_rgb": json.dumps(meta.mean_rgb), "input_size": str(meta.crop_size), "channel_order": "RGB",
        "input_format": "float32 NCHW, RGB, 0-255 pixel values minus mean_rgb per channel (no std division)",
        "output": "logits; apply softmax for probabilities",
        "multiscale_scales": json.dumps(list(meta.recipe.eval_scales)),
        "multiscale_protocol": "resize the whole image to each scale x scale (shorter side, centre square), one "
                               "forward pass per scale, average the softmax probabilities over the scales",
        "trained_epoch": str(state.epoch),
        "epoch_selection": selection,  # "final", or "best": selected on the validation set
        # The graph is float32 whatever the training ran in: bfloat16 (AMP) keeps fp32 weights.
        "training_dtype": getattr(state.config, "dtype", "float32"),
    }


def check_dataset(props, meta, onnx_path, data_dir):
    """The model's classes and input size against a packed dataset's."""
    if props["num_classes"] != meta.num_classes:
        raise UserError(f"{onnx_path} predicts {props['num_classes']} classes but {data_dir} has "
                        f"{meta.num_classes}; pass the --data-dir the model was trained on")
    if props["input_size"] != meta.crop_size:
        raise UserError(f"{onnx_path} expects {props['input_size']}px inputs but {data_dir} is packed for "
                        f"{meta.crop_size}px crops; pass the --data-dir the model was trained on")


def read_props(path_or_model):
    """The model's metadata_props ({key: value}, JSON values decoded): what props_for wrote."""
    model = load(path_or_model) if isinstance(path_or_model, str) else path_or_model
    out = {}
    for p in model.metadata_props:
        try:
            out[p.key] = json.loads(p.value)
        except ValueError:
            out[p.key] = p.value
    return out


def load(path, require_props=False):
    """The ModelProto at `path`, with a one-line error when it is missing, not ONNX, or (when
    `require_props`) not made by this project."""
    import onnx
    if not os.path.isfile(path):
        raise UserError(f"{path} does not exist; export it with `", EXPORT, "`")
    try:
        model = onnx.load(path)
    except Exception as e:  # protobuf raises DecodeError and others on junk
        raise UserError(f"{path} is not an ONNX model ({type(e).__name__}); export it again with `", EXPORT,
                        "`") from None
    if not model.graph.node:
        raise UserError(f"{path} is not an ONNX model (no graph); export it again with `", EXPORT, "`")
    if require_props:
        keys = {p.key for p in model.metadata_props}
        missing = [k for k in REQUIRED if k not in keys]
        if missing:
            raise UserError(f"{path} was not exported by gluon-resnet: its metadata lacks {', '.join(missing)}; "
                            "export it with `", EXPORT, "`")
    return model


def save(model, out):
    import onnx
    atomic(out, lambda tmp: onnx.save(model, tmp))
    return out


def convert(prefix, size):
    """MXNet's converter on `prefix`-symbol.json / -0000.params, asked for opset 13 with dynamic N, H, W.
    mx.onnx.export_model takes no opset (it uses the installed onnx's newest); its converter does."""
    import onnx

    from ..compat import onnx_converter
    load_module, MXNetGraph = onnx_converter()
    sym, params = load_module(prefix + "-symbol.json", prefix + "-0000.params")
    graph = MXNetGraph().create_onnx_graph_proto(sym, params, [(1, 3, size, size)], [onnx.TensorProto.FLOAT],
                                                 opset_version=OPSET, dynamic=True,
                                                 dynamic_input_shapes=[(None, 3, None, None)])
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)])


def export(save_dir, out=None, which="final"):
    """<save_dir>/model.onnx from the run's `final` (default) or `best` epoch; returns its path."""
    import onnx
    run = Run(save_dir)
    net, state = run.load_model(which)
    size = state.dataset.crop_size
    with tempfile.TemporaryDirectory(prefix=".onnx-", dir=run.dir) as tmp:
        prefix = os.path.join(tmp, "model")
        export_hybridized(net, size, prefix)
        model = portable(convert(prefix, size), OUTPUT, state.dataset.num_classes)
    model.producer_name, model.producer_version = PRODUCER, __version__
    model.doc_string = f"neon model-zoo {state.model.name} trained in {run.dir}, epoch {state.epoch} ({which})"
    onnx.helper.set_model_props(model, props_for(state, which))
    return save(model, out or run.onnx)


def ensure_export(run, onnx_path=None):
    """`onnx_path`, or the run's model.onnx, exported again when missing or older than its newest checkpoint."""
    if onnx_path:
        return onnx_path
    if not os.path.exists(run.onnx) or os.path.getmtime(run.onnx) < run.newest_checkpoint_time():
        export(run.dir, run.onnx)
    return run.onnx
