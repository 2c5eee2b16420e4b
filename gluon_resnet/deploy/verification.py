"""Check an ONNX model against MXNet in every runtime a user may deploy it in: top-1 / top-5 error
single-scale and multiscale, throughput, and agreement with the reference.

An fp32 model in a float32 runtime is judged by logit parity with MXNet (relative difference <= 1e-4,
top-1 agreement 100 %). An INT8 model, or a bf16 runtime, changes the arithmetic on purpose: it is
judged by its top-1 error against MXNet's fp32 (at most MAX_TOP1_DELTA worse) and reports its top-1
agreement with fp32. A runtime that is not installed is reported as absent, never as a pass.
"""

import numpy as np

from ..data.integrity import open_dataset
from ..errors import Command, UserError
from ..runs.evaluation import evaluate, mxnet_predictor
from ..runs.folder import Run, selection_label
from . import onnx_io, runtimes

MAX_REL_DIFF = 1e-4
MAX_TOP1_DELTA = 0.005   # INT8 / bf16: at most 0.5 percentage points more top-1 error than fp32


def reference_model(run, props, onnx_path):
    """The MXNet network the ONNX file was exported from (the epoch its metadata names)."""
    which = props.get("epoch_selection", "final")
    net, state = run.load_model(which)
    if str(state.epoch) != str(props.get("trained_epoch")):
        raise UserError(f"{onnx_path} holds epoch {props.get('trained_epoch')} but the run's {which} epoch is "
                        f"{state.epoch}; export it again with `", Command("onnx_export/export.py", "--save-dir", run.dir),
                        "`")
    net.hybridize()
    return net, state


def parity(a, b):
    """Largest |difference| of the logits, that relative to the largest |logit|, top-1 agreement."""
    diff = max(float(np.abs(a[s] - b[s]).max()) for s in a)
    scale = max(float(np.abs(a[s]).max()) for s in a)
    agree = np.mean(np.concatenate([a[s].argmax(1) == b[s].argmax(1) for s in a]))
    return {"max_abs_diff": diff, "max_rel_diff": diff / scale if scale else diff, "top1_agreement": float(agree),
            "scales": [int(s) for s in a]}


def _errors(res):
    return {k: res[k] for k in ("single", "multiscale", "per_scale", "images_per_second")}


def judge(row, exact, reference):
    """`ok` and the reason, by parity (exact arithmetic) or by accuracy delta (INT8, bf16)."""
    p = row["agreement"]
    if exact:
        row["judged_by"] = "parity"
        row["ok"] = (p["max_rel_diff"] <= MAX_REL_DIFF) and (p["top1_agreement"] == 1.0)
    else:
        row["judged_by"] = "accuracy"
        row["top1_delta"] = row["single"]["top1_err"] - reference["single"]["top1_err"]
        row["ok"] = row["top1_delta"] <= MAX_TOP1_DELTA
    return row


def verify(save_dir=None, onnx_path=None, data_dir=None, runtime_names=None, max_images=None, provider=None,
           batch_size=50, progress=False):
    """verify.json's rows: MXNet, then each runtime; `ok` when every installed runtime passes."""
    run = Run(save_dir) if save_dir else Run.most_recent()
    onnx_path = onnx_io.ensure_export(run, onnx_path)
    model = onnx_io.load(onnx_path, require_props=True)
    props = onnx_io.read_props(model)
    quantized = "int8_calibration" in props
    net, state = reference_model(run, props, onnx_path)
    data_dir = data_dir or state.data_dir
    meta = open_dataset(data_dir)
    onnx_io.check_dataset(props, meta, onnx_path, data_dir)
    kw = dict(batch_size=batch_size, max_images=max_images, progress=progress, keep_logits=True)
    ref = evaluate(mxnet_predictor(net), data_dir, meta, **kw)
    report = {"save_dir": run.dir, "onnx": onnx_path, "model": "int8" if quantized else "fp32",
              "epoch": state.epoch, "epoch_selection": props.get("epoch_selection"), "data_dir": data_dir,
              "images": ref["images"], "mxnet": _errors(ref), "runtimes": {}}
    for name in runtime_names or runtimes.parse(None, int8=quantized):
        if not runtimes.installed(name):
            report["runtimes"][name] = {"status": "absent", "ok": None}
            continue
        try:
            predict = runtimes.load(name, onnx_path, provider)
            res = evaluate(predict, data_dir, meta, **kw)
        except UserError:
            raise
        except Exception as e:  # a runtime that cannot load or run the graph is a failed row, not a crash
            report["runtimes"][name] = {"status": "error", "error": f"{type(e).__name__}: {str(e)[:300]}",
                                        "ok": False, "version": runtimes.describe(name, provider)}
            continue
        row = {"status": "ran", "version": runtimes.describe(name, provider), **_errors(res),
               "agreement": parity(ref["logits"], res["logits"])}
        report["runtimes"][name] = judge(row, name in runtimes.EXACT and not quantized, report["mxnet"])
    ran = [r for r in report["runtimes"].values() if r["status"] != "absent"]
    report["ok"] = bool(ran) and all(r["ok"] for r in ran)
    return report


def table(report):
    """The report as a table: one line per runtime, with MXNet first."""
    pct = lambda r: f"{100 * r['top1_err']:6.2f}% {100 * r['top5_err']:6.2f}%"  # noqa: E731
    ms = ",".join(map(str, report["mxnet"]["multiscale"]["scales"]))
    single = report["mxnet"]["single"]["scale"]
    lines = [f"{report['onnx']} ({report['model']}, epoch {report['epoch']}, {selection_label(report['epoch_selection'])}) "
             f"on {report['images']} images of {report['data_dir']}",
             f"{'':22}{'single ' + str(single) + 'px':>16}{'multiscale ' + ms:>22}{'images/s':>10}   check",
             f"{'':22}{'top-1   top-5':>16}{'top-1   top-5':>22}",
             f"{'MXNet (fp32)':<22}{pct(report['mxnet']['single']):>16}{pct(report['mxnet']['multiscale']):>22}"
             f"{report['mxnet']['images_per_second']:>10.0f}   reference"]
    for name, r in report["runtimes"].items():
        label = f"{name} ({report['model']})"
        if r["status"] == "absent":
            lines.append(f"{label:<22}{'not installed':>16}")
            continue
        if r["status"] == "error":
            lines.append(f"{label:<22}{'FAILED to run: ' + r['error'][:90]}")
            continue
        a = r["agreement"]
        check = (f"max rel diff {a['max_rel_diff']:.1e}, top-1 agreement {100 * a['top1_agreement']:.1f}%"
                 if r["judged_by"] == "parity" else
                 f"top-1 {100 * r['top1_delta']:+.2f} pp vs fp32, agreement {100 * a['top1_agreement']:.1f}%")
        lines.append(f"{label:<22}{pct(r['single']):>16}{pct(r['multiscale']):>22}{r['images_per_second']:>10.0f}"
                     f"   {check}  {'OK' if r['ok'] else 'FAILED'}")
    lines.append(("OK" if report["ok"] else "FAILED") + f": parity limit {MAX_REL_DIFF:g} relative (fp32), "
                 f"accuracy limit +{100 * MAX_TOP1_DELTA:g} pp top-1 (INT8, bf16)")
    return "\n".join(lines)
