"""Check an ONNX export against MXNet: logits parity at every evaluation scale, and top-1 / top-5 error
single-scale and multiscale from both runtimes on the same pixels, with their throughput."""
import glob
import os
import warnings

import numpy as np

from . import onnx_io
from .checkpoint import read_json
from .errors import UserError
from .evaluation import evaluate, mxnet_predictor
from .packing import read_meta

MAX_REL_DIFF = 1e-4


def newest_run(runs_dir="runs"):
    """The run folder under `runs_dir` with the newest trained model."""
    found = glob.glob(os.path.join(runs_dir, "*", "best.json"))
    if not found:
        raise UserError(f"no trained run under {runs_dir}/: train one with `python tools/train.py`, "
                        f"or pass --save-dir")
    return os.path.dirname(max(found, key=os.path.getmtime))


def ensure_onnx(save_dir, onnx_path=None):
    """The run's ONNX file, exported again when missing or older than the model it comes from."""
    path = onnx_path or os.path.join(save_dir, "model.onnx")
    sources = [os.path.join(save_dir, f) for f in ("best.params", "model-0000.params")]
    newest = max((os.path.getmtime(f) for f in sources if os.path.exists(f)), default=0)
    if onnx_path is None and (not os.path.exists(path) or os.path.getmtime(path) < newest):
        onnx_io.export(save_dir, path)
    return path


def check_against_dataset(metadata, sess, meta, onnx_path, data_dir):
    classes = sess.get_outputs()[0].shape[-1]
    if isinstance(classes, int) and classes != meta["num_classes"] or \
            metadata.get("num_classes", meta["num_classes"]) != meta["num_classes"]:
        raise UserError(f"{onnx_path} predicts {metadata.get('num_classes', classes)} classes but {data_dir} has "
                        f"{meta['num_classes']}; pass the --data-dir the model was trained on")
    if metadata.get("input_size", meta["crop_size"]) != meta["crop_size"]:
        raise UserError(f"{onnx_path} expects {metadata['input_size']}px inputs but {data_dir} is packed for "
                        f"{meta['crop_size']}px crops; pass the --data-dir the model was trained on")
    shape = sess.get_inputs()[0].shape
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise UserError(f"{onnx_path} takes inputs of shape {shape}, not N x 3 x H x W images")


def parity(a, b):
    """Largest |difference| of the logits, that relative to the largest |logit|, top-1 agreement."""
    diff = max(float(np.abs(a[s] - b[s]).max()) for s in a)
    scale = max(float(np.abs(a[s]).max()) for s in a)
    agree = np.mean(np.concatenate([a[s].argmax(1) == b[s].argmax(1) for s in a]))
    return {"max_abs_diff": diff, "max_rel_diff": diff / scale if scale else diff, "top1_agreement": float(agree),
            "scales": [int(s) for s in a]}


def verify(save_dir=None, onnx_path=None, data_dir=None, max_images=None, provider=None, batch_size=50,
           progress=False):
    """The numbers of verify.json; raise nothing on a parity failure (the caller decides)."""
    import mxnet as mx
    save_dir = save_dir or newest_run()
    if not os.path.exists(os.path.join(save_dir, "best.json")):
        raise UserError(f"{save_dir} holds no trained model (best.json): train it with tools/train.py first")
    state = read_json(os.path.join(save_dir, "best.json"))
    onnx_path = ensure_onnx(save_dir, onnx_path)
    data_dir = data_dir or state["args"]["data_dir"]
    meta = read_meta(data_dir)
    model = onnx_io.load(onnx_path)
    sess, provider = onnx_io.session(model, provider)
    metadata = onnx_io.read_metadata(model)
    check_against_dataset(metadata, sess, meta, onnx_path, data_dir)
    prefix = os.path.join(save_dir, "model")
    with warnings.catch_warnings():  # "Cannot decide type for ... data": the input's type comes at call time
        warnings.simplefilter("ignore", UserWarning)
        net = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0000.params")
    net.hybridize()
    kw = dict(batch_size=batch_size, max_images=max_images, progress=progress, keep_logits=True)
    mx_res = evaluate(mxnet_predictor(net), data_dir, meta, **kw)
    ort_res = evaluate(onnx_io.predictor(sess), data_dir, meta, **kw)
    report = {
        "save_dir": save_dir, "onnx": onnx_path, "data_dir": data_dir, "provider": provider,
        "images": mx_res["images"],
        "parity": parity(mx_res["logits"], ort_res["logits"]),
        "mxnet": {k: mx_res[k] for k in ("single", "multiscale", "per_scale")},
        "onnxruntime": {k: ort_res[k] for k in ("single", "multiscale", "per_scale")},
        "throughput": {"mxnet": mx_res["images_per_second"], "onnxruntime": ort_res["images_per_second"]},
    }
    p = report["parity"]
    report["ok"] = p["max_rel_diff"] <= MAX_REL_DIFF and p["top1_agreement"] == 1.0
    return report


def save_report(report):
    """<save_dir>/verify.json; returns its path."""
    from .checkpoint import write_json
    path = os.path.join(report["save_dir"], "verify.json")
    write_json(path, report)
    return path


def table(report):
    p, t = report["parity"], report["throughput"]
    pct = lambda r: f"{100 * r['top1_err']:6.2f}%  {100 * r['top5_err']:6.2f}%"  # noqa: E731
    ms = ",".join(map(str, report["mxnet"]["multiscale"]["scales"]))
    lines = [f"{report['onnx']} vs MXNet on {report['images']} images of {report['data_dir']} ({report['provider']})",
             f"{'':24}{'top-1':>8}{'top-5':>9}   {'top-1':>7}{'top-5':>9}",
             f"{'':24}{'MXNet':>17}   {'onnxruntime':>16}",
             f"{'single ' + str(report['mxnet']['single']['scale']) + 'px':<24}{pct(report['mxnet']['single'])}   "
             f"{pct(report['onnxruntime']['single'])}",
             f"{'multiscale ' + ms:<24}{pct(report['mxnet']['multiscale'])}   "
             f"{pct(report['onnxruntime']['multiscale'])}",
             f"{'images/s':<24}{t['mxnet']:>17.0f}   {t['onnxruntime']:>16.0f}",
             f"parity at {','.join(map(str, p['scales']))}px: max |diff| {p['max_abs_diff']:.2e}, relative "
             f"{p['max_rel_diff']:.2e} (limit {MAX_REL_DIFF:g}), top-1 agreement {100 * p['top1_agreement']:.2f}%  "
             + ("OK" if report["ok"] else "FAILED")]
    return "\n".join(lines)
