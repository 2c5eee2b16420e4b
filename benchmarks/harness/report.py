"""The report: the table with ratios and the lines that compare rows, the plot, and what machine and versions
ran it."""
import os

NEON_TITAN_X = 50000 / 11  # neon's ResNet-20: 11 s per 50,000-image epoch on a GTX Titan X
MODERN_GPU = 25000         # an order of magnitude for a current data-centre GPU on ResNet-20 training
UNITS = {"ms_per_step": "ms/step"}  # a row's detail (Row.detail), as the table prints it


def report(out, meta):
    """The table (per row: median images/s, spread over the rounds as (max - min) / median, ratio to the base
    row, peak memory) and the lines comparing rows."""
    lines = [f"{meta['machine']}, {meta['date']}, commit {meta['commit']}, {meta['rounds']} interleaved rounds, "
             f"batch {meta['batch_size']}; peers: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}",
             f"{'':100}{'images/s':>10}{'spread':>8}{'ratio':>8}{'peak MiB':>10}"]
    group = None
    for row in out.values():
        if row["group"] != group:
            group = row["group"]
            lines.append(f"-- {group}")
        if row["status"] != "ok":
            lines.append(f"  {row['label']:<98}{row['status']:>10}" + (f"  {row.get('error')}" if row.get("error")
                                                                         else ""))
            continue
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
        spread = "-" if row["spread"] is None else f"{100 * row['spread']:.0f}%"
        extra = f"  ({row[row['detail']]:.1f} {UNITS[row['detail']]})" if row.get("detail") else ""
        lines.append(f"  {row['label']:<98}{row['images_per_second']:>10,.0f}{spread:>8}{ratio:>8}"
                     f"{row['peak_rss_mib']:>10,.0f}{extra}")
    pipe = {k: v for k, v in out.items() if k.startswith("pipeline/") and v["status"] == "ok"}
    for ds in ("cifar", "miniplaces"):
        one = pipe.get(f"pipeline/{ds}/threads1")
        if one:
            per_core = one["images_per_second"]
            lines.append(f"  {ds}: preprocess_threads=1 gives {per_core:,.0f} images/s: neon's Titan X rate "
                         f"({NEON_TITAN_X:,.0f}/s) needs {NEON_TITAN_X / per_core:.1f} cores, a modern GPU "
                         f"(~{MODERN_GPU:,}/s) {MODERN_GPU / per_core:.0f}")
    depths = sorted({k.rsplit("/", 1)[1] for k in out if k.startswith("train/")})
    for ours, peer in (("hybrid", "pytorch"), ("bf16", "pytorch-bf16")):
        for name in depths:
            a, b = out.get(f"train/{ours}/{name}", {}), out.get(f"train/{peer}/{name}", {})
            if a.get("status") == b.get("status") == "ok":
                lines.append(f"  {a['short']} runs {a['images_per_second'] / b['images_per_second']:.2f}x "
                             f"{b['short']}")
    e32, e16 = out.get("epoch/float32", {}), out.get("epoch/bfloat16", {})
    for e in (e32, e16):
        if e.get("status") == "ok":
            lines.append(f"  {e['short']}: {e['with_validation']:,.0f} images/s over the whole epoch, validation and "
                         f"checkpoint included")
    gnu = out.get("epoch/float32/gnu", {})
    if e32.get("status") == gnu.get("status") == "ok":
        lines.append(f"  the fp32 epoch on Intel OpenMP (the default) runs "
                     f"{e32['images_per_second'] / gnu['images_per_second']:.2f}x the same epoch on GNU OpenMP")
    if e32.get("status") == e16.get("status") == "ok":
        lines.append(f"  end to end, an epoch in bf16 runs {e16['images_per_second'] / e32['images_per_second']:.2f}x "
                     f"the fp32 epoch (the training default)")
    for impl in ("imperative", "hybrid"):
        over = out.get(f"overhead/{impl}/batch2")
        if over and over["status"] == "ok":
            lines.append(f"  a batch-2 step, {impl}, takes {over['ms_per_step']:.1f} ms here (an upper bound on the "
                         f"host's work per step); neon's ResNet-20 step on a Titan X took {11000 / 391:.1f} ms")
    return "\n".join(lines)


def plot(out, path, title=""):
    """One panel per group: each row's ratio to the group's peer (the bar at 1.0), the rounds' lowest and
    highest ratio as error bars, images/s written beside.
    Drawn with the Figure API: no pyplot, no global backend."""
    from matplotlib.figure import Figure
    groups = {}
    for row in out.values():
        if row["status"] == "ok" and "ratio" in row:
            groups.setdefault(row["group"], []).append(row)
    heights = [len(g) + 1.2 for g in groups.values()]
    fig = Figure(figsize=(9, 0.32 * sum(heights) + 0.8), constrained_layout=True)
    axes = fig.subplots(len(groups), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    for ax, (group, rows) in zip(axes, groups.items()):
        ratios = [r["ratio"] for r in rows]
        low = [max(0.0, r["ratio"] - min(r["ratio_rounds"], default=r["ratio"])) for r in rows]
        high = [max(0.0, max(r["ratio_rounds"], default=r["ratio"]) - r["ratio"]) for r in rows]
        colors = ["tab:gray" if abs(x - 1) < 1e-9 else ("tab:green" if x > 1 else "tab:red") for x in ratios]
        ax.barh(range(len(rows)), ratios, xerr=[low, high], error_kw={"lw": 0.8, "capsize": 2}, color=colors)
        ax.set_yticks(range(len(rows)), [r["short"] for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(1.0, color="black", lw=0.8)
        for i, r in enumerate(rows):  # beside the bar's error bar
            ax.text(r["ratio"] + high[i], i, f" {r['ratio']:.2f}x  {r['images_per_second']:,.0f}/s", va="center",
                    fontsize=7)
        ax.set_xlim(0, max(x + h for x, h in zip(ratios, high)) * 1.45)
        ax.set_title(group, fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
    axes[-1].set_xlabel("ratio to the first row of each group (images/s beside each bar)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=110)
    return path


def commit(where):
    """The checkout's commit, with "+changes" when files differ from it; "unknown" outside git."""
    import subprocess
    try:
        head = subprocess.run(["git", "-C", where, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if changed else "")


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "cpu")
    return f"{cpu}, {len(os.sched_getaffinity(0))} cores"


def versions():
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for pkg in ("mxnet", "gluoncv", "torch", "onnxruntime", "openvino"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out
