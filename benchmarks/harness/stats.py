"""The rounds' results reduced to one entry per row: medians, each round's rate, its spread, and the ratio to
the row's base."""
import statistics

from .plan import STEP


def medians(rows, results):
    """Medians over the rounds, each round's images/s and their spread ((max - min) / median, None from one
    round), and each row's ratio to its base row (Row.base) with the ratio of each round (interleaved: a row
    and its base ran minutes apart at most)."""
    out = {}
    for row in rows:
        runs = [r for r in results.get(row.id, []) if "error" not in r]
        entry = {"label": row.label, "short": row.short, "group": row.group, "detail": row.detail}
        if row.spec is None:
            out[row.id] = {**entry, "status": row.absent}
        elif not runs:
            out[row.id] = {**entry, "status": "failed", "error": (results.get(row.id) or [{}])[0].get("error")}
        else:
            keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float))]
            said = {k: v for k, v in runs[0].items() if isinstance(v, str)}  # e.g. the OpenMP runtime
            rates = [r["images_per_second"] for r in runs]
            out[row.id] = {**entry, **said, "status": "ok", "rounds": len(runs),
                           **{k: statistics.median(r[k] for r in runs) for k in keys},
                           "images_per_second_rounds": rates, "spread": spread(rates)}
    for row in rows:
        entry = out[row.id]
        if entry["status"] != "ok":
            continue
        if row.base == STEP:
            base, per_round = entry.get("step_images_per_second"), [
                r["images_per_second"] / r["step_images_per_second"] for r in results[row.id] if "error" not in r]
        else:
            base = out.get(row.base, {}).get("images_per_second")
            mine, theirs = results[row.id], results.get(row.base, [])
            per_round = [a["images_per_second"] / b["images_per_second"] for a, b in zip(mine, theirs)
                         if "error" not in a and "error" not in b]
        if base:
            entry["ratio"] = entry["images_per_second"] / base
            entry["ratio_rounds"] = per_round
    return out


def spread(values):
    """(max - min) / median of `values`; None for fewer than two."""
    return (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else None
