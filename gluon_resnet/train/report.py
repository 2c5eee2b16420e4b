"""What a run reports: the per-epoch log line, summary.json's record, and neon's results table.

The headline is the final epoch's validation error, as neon and the paper report it. On CIFAR-10 the
validation set is the test set, so the best epoch is model selection on the test set: it is shown,
labelled for what it is, and never used as the result.
"""
from dataclasses import dataclass

import numpy as np

from ..runs.folder import BEST_LABEL




@dataclass(frozen=True)
class Summary:
    model: str
    depth: int
    n: int
    shortcut: str
    parameters: int
    dataset: str
    epochs: int
    val_top1_err: float            # the final epoch's: the headline
    val_top5_err: float
    best_epoch: int                # selected on the validation set (the test set, on CIFAR-10)
    best_val_top1_err: float
    exported_epoch: int            # what model-symbol.json / model.onnx hold
    exported_selection: str        # "final" or "best"
    seconds_per_epoch: float
    images_per_second: float
    peak_gpu_memory_mib: float     # the epochs' largest gpu_memory_mib sample; None on the CPU
    peak_host_rss_mib: float
    total_seconds: float


def summary_of(rows, exported, selection, parameters):
    """The Summary of a run from its metrics rows and the RunState of the exported epoch."""
    final = rows[-1]
    validated = [r for r in rows if r["val_top1_err"] is not None]
    best = min(validated, key=lambda r: r["val_top1_err"])
    gpu = [r["gpu_memory_mib"] for r in rows if r.get("gpu_memory_mib") is not None]
    spec = exported.model
    return Summary(
        model=spec.name, depth=spec.depth, n=spec.n, shortcut=spec.shortcut, parameters=parameters,
        dataset=exported.dataset.name, epochs=final["epoch"],
        val_top1_err=final["val_top1_err"], val_top5_err=final["val_top5_err"],
        best_epoch=best["epoch"], best_val_top1_err=best["val_top1_err"],
        exported_epoch=exported.epoch, exported_selection=selection,
        seconds_per_epoch=float(np.median([r["epoch_seconds"] for r in rows])),
        images_per_second=float(np.median([r["images_per_second"] for r in rows])),
        peak_gpu_memory_mib=max(gpu) if gpu else None,
        peak_host_rss_mib=max(r["host_rss_mib"] for r in rows),
        total_seconds=sum(r["epoch_seconds"] for r in rows))


def epoch_line(row, num_epochs):
    val = (f"val top-1 {100 * row['val_top1_err']:.2f}% top-5 {100 * row['val_top5_err']:.2f}%"
           if row["val_top1_err"] is not None else "val -")
    return (f"epoch {row['epoch']:3d}/{num_epochs}  lr {row['lr']:.4g}  loss {row['train_loss']:.4f}  train top-1 "
            f"{100 * row['train_top1_err']:.2f}%  {val}  {row['epoch_seconds']:.1f} s  "
            f"{row['images_per_second']:.0f} img/s")


def neon_table(s):
    """neon's README table, for the final epoch; memory is the GPU's, or the host's peak RSS on the CPU."""
    memory = (f"{s.peak_gpu_memory_mib:.0f} MiB" if s.peak_gpu_memory_mib is not None else
              f"{s.peak_host_rss_mib:.0f} MiB (host)")
    return ("\n| Model Depth | Memory Footprint | Seconds per Epoch | Validation Error % |\n"
            "| ----------- | ---------------- | ----------------- | ------------------ |\n"
            f"| {s.depth:<11} | {memory:>16} | {s.seconds_per_epoch:>17.1f} | {100 * s.val_top1_err:>18.2f} |")


def closing_line(s, run):
    return (f"final epoch {s.epochs}: val top-1 {100 * s.val_top1_err:.2f}%, top-5 {100 * s.val_top5_err:.2f}% "
            f"({BEST_LABEL}: {s.best_epoch}, {100 * s.best_val_top1_err:.2f}%); exported epoch "
            f"{s.exported_epoch} ({s.exported_selection}) to {run.mxnet_prefix}-symbol.json; wrote "
            f"{run.summary}, {run.plot}")
