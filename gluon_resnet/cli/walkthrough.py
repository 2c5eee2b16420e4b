"""The newcomer's path end to end on the embedded digits: pack, train ResNet-20 with the CIFAR
recipe (its schedule scaled to a few epochs), evaluate (single-scale and multiscale), export the final epoch
to ONNX and INT8, and verify both in every installed runtime."""
import time

from ..data.dataset import read_meta
from ..data.integrity import open_dataset
from ..data.packing import pack
from ..data.sources import read_digits
from ..deploy import onnx_io
from ..deploy.quantization import quantize
from ..deploy.verification import table, verify
from ..errors import UserError
from ..model.precision import bf16_outlook
from ..recipes import RECIPES
from ..runs.folder import BEST_LABEL, Run
from ..train.start import new_config
from ..train.training import fit


def scaled_steps(epochs, recipe=RECIPES["cifar"]):
    """neon's drops at 90 and 135 of 180 epochs, at the same fractions of `epochs`."""
    return [e * epochs / recipe.num_epochs for e in recipe.lr_step_epochs]


def ensure_digits(data_dir):
    """Pack the digits once; a later run reuses them when dataset.json reads back."""
    try:
        meta = open_dataset(data_dir)
        if meta.name == "digits":
            return meta, False
    except UserError:
        pass
    pack(read_digits(), "digits", data_dir, workers=1, force=True)
    return read_meta(data_dir), True


def run_demo(epochs=30, n=3, data_dir="data/digits", save_dir="runs/digits-resnet20", cpus=1, log=print):
    started = time.time()
    meta, packed = ensure_digits(data_dir)
    log(f"{'packed' if packed else 'reusing'} {data_dir}: {meta.counts['train']} train / "
        f"{meta.counts['val']} val digits, mean RGB {meta.mean_rgb}")
    steps = scaled_steps(epochs)
    config = new_config(data_dir, save_dir, n=n, cpus=cpus, num_epochs=epochs, lr_step_epochs=steps)
    train_start = time.time()
    summary = fit(config, force=True)
    train_seconds = time.time() - train_start
    run = Run(save_dir)
    onnx_path = onnx_io.export(save_dir)
    int8_path = quantize(save_dir)
    reports = {}
    for kind, path in (("fp32", onnx_path), ("int8", int8_path)):
        reports[kind] = verify(save_dir, path, data_dir)
        run.write_verify_report(reports[kind])
        log("")
        log(table(reports[kind]))
    fp32, int8 = (reports[k]["runtimes"]["onnxruntime"] for k in ("fp32", "int8"))
    lines = [
        "",
        f"{summary.model} on digits, {epochs} epochs (lr drops after epochs {', '.join(f'{s:g}' for s in steps)})",
        f"  training          {train_seconds:6.1f} s ({summary.seconds_per_epoch:.1f} s/epoch, "
        f"{summary.images_per_second:.0f} img/s)",
        f"  val top-1 error   {100 * summary.val_top1_err:.2f}% at the final epoch (MXNet); onnxruntime fp32 "
        f"{100 * fp32['single']['top1_err']:.2f}%, int8 {100 * int8['single']['top1_err']:.2f}%; "
        f"multiscale {100 * fp32['multiscale']['top1_err']:.2f}%",
        f"                    ({BEST_LABEL}: {summary.best_epoch}, {100 * summary.best_val_top1_err:.2f}%)",
        f"  onnxruntime       fp32 {fp32['images_per_second']:.0f} img/s, int8 {int8['images_per_second']:.0f} "
        f"img/s ({int8['images_per_second'] / fp32['images_per_second']:.2f}x)",
        f"  bfloat16          {bf16_outlook()}",
        f"  made              {run.plot}   (train / validation error per epoch)",
        f"                    {onnx_path}, {int8_path}   (ONNX fp32 and INT8, dynamic batch and size)",
        f"                    {run.verify_report}, {run.summary}, {run.metrics}",
        f"  total             {time.time() - started:.0f} s",
    ]
    for line in lines:
        log(line)
    return {"summary": summary, "verify": reports, "train_seconds": train_seconds, "onnx": onnx_path,
            "int8": int8_path}
