"""Error curves: one run's train/validation error (val_error.png), and several runs overlaid."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_metrics(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _label(run_dir):
    summary = os.path.join(run_dir, "summary.json")
    if os.path.exists(summary):
        with open(summary) as f:
            return f"ResNet-{json.load(f)['depth']}"
    return os.path.basename(os.path.normpath(run_dir))


def plot_run(run_dir, out=None):
    """Train and validation top-1 error per epoch of one run (percent)."""
    rows = read_metrics(run_dir)
    evaluated = [r for r in rows if r["val_top1_err"] is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot([r["epoch"] for r in rows], [100 * r["train_top1_err"] for r in rows], label="train (augmented)",
            color="tab:gray")
    ax.plot([r["epoch"] for r in evaluated], [100 * r["val_top1_err"] for r in evaluated], label="validation",
            color="tab:red", lw=2, marker="o" if len(evaluated) < 30 else None, ms=3)
    best = min(evaluated, key=lambda r: r["val_top1_err"])
    ax.annotate(f"best {100 * best['val_top1_err']:.2f}% (epoch {best['epoch']})",
                (best["epoch"], 100 * best["val_top1_err"]), textcoords="offset points", xytext=(0, 18),
                ha="center", color="tab:red", arrowprops={"arrowstyle": "->", "color": "tab:red"})
    for prev, row in zip(rows, rows[1:]):  # where the learning rate drops, the curves bend
        if row["lr"] < prev["lr"] * 0.99:
            ax.axvline(prev["epoch"] + 0.5, color="tab:blue", ls=":", lw=1)
            ax.text(prev["epoch"] + 0.5, ax.get_ylim()[1] * 0.97, f" lr {row['lr']:g}", color="tab:blue",
                    va="top", fontsize=8)
    ax.set(xlabel="epoch", ylabel="top-1 error (%)",
           title=f"{_label(run_dir)}: {os.path.basename(os.path.normpath(run_dir))}")
    ax.grid(alpha=0.3)
    ax.legend()
    out = out or os.path.join(run_dir, "val_error.png")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_runs(run_dirs, out, zoom=False):
    """Validation error of several runs, like the neon README's figure comparing depths. With
    `zoom`, both axes keep to the second half of the longest run, where the runs separate."""
    fig, ax = plt.subplots(figsize=(8, 5))
    curves = []
    for d in run_dirs:
        rows = [r for r in read_metrics(d) if r["val_top1_err"] is not None]
        curves.append(([r["epoch"] for r in rows], [100 * r["val_top1_err"] for r in rows]))
        name = f"{_label(d)} ({os.path.basename(os.path.normpath(d))})"
        ax.plot(*curves[-1], label=f"{name}: best {min(curves[-1][1]):.2f}%")
    if zoom and curves:
        start = max(max(e) for e, _ in curves) / 2
        tail = [v for e, err in curves for x, v in zip(e, err) if x >= start]
        if tail:
            pad = 0.1 * (max(tail) - min(tail) or 1)
            ax.set_xlim(start, None)
            ax.set_ylim(max(0, min(tail) - pad), max(tail) + pad)
    ax.set(xlabel="epoch", ylabel="validation top-1 error (%)",
           title="validation error" + (" (zoomed)" if zoom else ""))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
