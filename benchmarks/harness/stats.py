"""The rounds' results reduced to one entry per row."""
import statistics

from .plan import BF16, STEP


def medians(rows, results):
    """Medians over the rounds, and each row's ratio to its base row (Row.base)."""
    out = {}
    for row in rows:
        runs = [r for r in results.get(row.id, []) if "error" not in r]
        entry = {"label": row.label, "short": row.short, "group": row.group}
        if row.spec is None:
            out[row.id] = {**entry, "status": "no bf16 CPU" if "bf16" in row.id and not BF16 else "not installed"}
        elif not runs:
            out[row.id] = {**entry, "status": "failed", "error": (results.get(row.id) or [{}])[0].get("error")}
        else:
            keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float))]
            said = {k: v for k, v in runs[0].items() if isinstance(v, str)}  # e.g. the OpenMP runtime
            out[row.id] = {**entry, **said, "status": "ok", "rounds": len(runs),
                           **{k: statistics.median(r[k] for r in runs) for k in keys}}
    for row in rows:
        entry = out[row.id]
        if entry["status"] != "ok":
            continue
        base = entry.get("step_images_per_second") if row.base == STEP else \
            out.get(row.base, {}).get("images_per_second")
        if base:
            entry["ratio"] = entry["images_per_second"] / base
    return out
