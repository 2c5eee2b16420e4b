"""The newcomer's path, end to end on the embedded digits: pack, train ResNet-20 with the CIFAR recipe
(its schedule scaled to a few epochs), evaluate single-scale and multiscale, export to ONNX, verify."""
import os
import time

from . import onnx_io
from .checkpoint import read_json
from .errors import UserError
from .options import train_parser
from .packing import pack, read_meta
from .recipes import RECIPES
from .sources import read_digits
from .training import fit
from .verification import save_report, table, verify


def scaled_steps(epochs, recipe=RECIPES["cifar"]):
    """neon's drops at 90 and 135 of 180 epochs, at the same fractions of `epochs`."""
    return [e * epochs / recipe.num_epochs for e in recipe.lr_step_epochs]


def ensure_digits(data_dir):
    """Pack the digits once; a later run reuses them when dataset.json reads back."""
    try:
        meta = read_meta(data_dir)
        if meta["name"] == "digits":
            return meta, False
    except UserError:
        pass
    pack(read_digits(), "digits", data_dir, workers=1, force=True)
    return read_meta(data_dir), True


def run_demo(epochs=30, n=3, data_dir="data/digits", save_dir="runs/digits-resnet20", cpus=1, log=print):
    started = time.time()
    meta, packed = ensure_digits(data_dir)
    log(f"{'packed' if packed else 'reusing'} {data_dir}: {meta['counts']['train']} train / "
        f"{meta['counts']['val']} val digits, mean RGB {meta['mean_rgb']}")
    steps = scaled_steps(epochs)
    cfg = train_parser().parse_args([
        "--data-dir", data_dir, "--n", str(n), "--cpus", str(cpus), "--num-epochs", str(epochs),
        "--lr-step-epochs", ",".join(f"{s:g}" for s in steps), "--save-dir", save_dir, "--force"])
    train_start = time.time()
    summary = fit(cfg)
    train_seconds = time.time() - train_start
    onnx_path = onnx_io.export(save_dir)
    report = verify(save_dir, onnx_path, data_dir)
    save_report(report)
    state = read_json(os.path.join(save_dir, "best.json"))
    log("")
    log(table(report))
    p = report["parity"]
    lines = [
        "",
        f"ResNet-{summary['depth']} on digits, {epochs} epochs (lr drops after epochs "
        f"{', '.join(f'{s:g}' for s in steps)}), best epoch {state['epoch']}",
        f"  training          {train_seconds:6.1f} s ({summary['seconds_per_epoch']:.1f} s/epoch, "
        f"{summary['images_per_second']:.0f} img/s)",
        f"  val top-1 error   MXNet {100 * report['mxnet']['single']['top1_err']:.2f}%   "
        f"onnxruntime {100 * report['onnxruntime']['single']['top1_err']:.2f}%   "
        f"(multiscale {100 * report['onnxruntime']['multiscale']['top1_err']:.2f}%)",
        f"  parity            max |diff| {p['max_abs_diff']:.1e}, relative {p['max_rel_diff']:.1e}, "
        f"top-1 agreement {100 * p['top1_agreement']:.0f}%",
        f"  made              {save_dir}/val_error.png   (train / validation error per epoch)",
        f"                    {onnx_path}   (ONNX, dynamic batch and size)",
        f"                    {save_dir}/verify.json, summary.json, metrics.jsonl, model-symbol.json",
        f"  total             {time.time() - started:.0f} s",
    ]
    for line in lines:
        log(line)
    return {"summary": summary, "verify": report, "train_seconds": train_seconds, "onnx": onnx_path}
