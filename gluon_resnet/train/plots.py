"""Error curves: one run's train/validation error (val_error.png), and several runs overlaid.

Drawn with matplotlib's Figure API, which renders to a file with its own canvas: the process's matplotlib
backend (and pyplot's state) stay as they were. matplotlib is imported when a plot is drawn, so the
training processes that never draw one (workers other than rank 0, runs stopped early) start faster."""
import os


def _label(run):
    state = run.last_checkpoint()
    return state.model.name if state else os.path.basename(os.path.normpath(run.dir))


def plot_run(run, out=None):
    """Train and validation top-1 error per epoch of one run (percent), the final epoch's error
    marked, and a line where each learning-rate drop happens."""
    from matplotlib.figure import Figure
    rows = run.read_metrics()
    evaluated = [r for r in rows if r["val_top1_err"] is not None]
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.plot([r["epoch"] for r in rows], [100 * r["train_top1_err"] for r in rows], label="train (augmented)",
            color="tab:gray")
    ax.plot([r["epoch"] for r in evaluated], [100 * r["val_top1_err"] for r in evaluated], label="validation",
            color="tab:red", lw=2, marker="o" if len(evaluated) < 30 else None, ms=3)
    final = evaluated[-1]
    ax.annotate(f"final {100 * final['val_top1_err']:.2f}% (epoch {final['epoch']})",
                (final["epoch"], 100 * final["val_top1_err"]), textcoords="offset points", xytext=(-40, 22),
                ha="center", color="tab:red", arrowprops={"arrowstyle": "->", "color": "tab:red"})
    state = run.last_checkpoint()
    # Epoch e on the x axis is the end of epoch e, so a drop "after epoch 15" sits at x = 15 and one
    # after 22.5 epochs at x = 22.5.
    for step in (state.config.lr_step_epochs if state else []):
        if step < rows[-1]["epoch"]:
            ax.axvline(step, color="tab:blue", ls=":", lw=1)
            ax.text(step, ax.get_ylim()[1] * 0.97, f" lr x{state.config.lr_factor:g}", color="tab:blue",
                    va="top", fontsize=8)
    ax.set(xlabel="epoch", ylabel="top-1 error (%)",
           title=f"{_label(run)}: {os.path.basename(os.path.normpath(run.dir))}")
    ax.grid(alpha=0.3)
    ax.legend()
    out = out or run.plot
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def plot_runs(runs, out, zoom=False):
    """Validation error of several `Run`s, like the neon README's figure comparing depths. With
    `zoom`, both axes keep to the second half of the longest run, where the runs separate."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    curves = []
    for run in runs:
        rows = [r for r in run.read_metrics() if r["val_top1_err"] is not None]
        curves.append(([r["epoch"] for r in rows], [100 * r["val_top1_err"] for r in rows]))
        name = f"{_label(run)} ({os.path.basename(os.path.normpath(run.dir))})"
        ax.plot(*curves[-1], label=f"{name}: final {curves[-1][1][-1]:.2f}%")
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
    return out
