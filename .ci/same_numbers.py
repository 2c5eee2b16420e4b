"""Two runs of the digits demo (on two Pythons, the same machine) trained the same: every epoch's learning
rate, training loss and errors equal, and the same verified error for every runtime.

    python3 .ci/same_numbers.py runs/digits-resnet20 OTHER/runs/digits-resnet20
"""
import json
import sys

PER_EPOCH = ("lr", "train_loss", "train_top1_err", "val_top1_err", "val_top5_err")


def epochs(run):
    with open(f"{run}/metrics.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def verified(run):
    """{(model, runtime, single/multiscale): (top-1, top-5)} from verify.json, for the runtimes that ran."""
    with open(f"{run}/verify.json") as f:
        report = json.load(f)
    errors = {}
    for model, r in report.items():
        ran = {"mxnet": r["mxnet"], **{k: v for k, v in r["runtimes"].items() if v.get("status") == "ran"}}
        for runtime, v in ran.items():
            for how in ("single", "multiscale"):
                errors[model, runtime, how] = (v[how]["top1_err"], v[how]["top5_err"])
    return errors


def main(a, b):
    ea, eb = epochs(a), epochs(b)
    problems = [f"{len(ea)} epochs in {a}, {len(eb)} in {b}"] if len(ea) != len(eb) else []
    problems += [f"epoch {x['epoch']} {k}: {x[k]!r} vs {y[k]!r}" for x, y in zip(ea, eb) for k in PER_EPOCH
                 if x[k] != y[k]]
    va, vb = verified(a), verified(b)
    problems += [f"{' '.join(k)}: top-1/top-5 {va.get(k)} vs {vb.get(k)}" for k in sorted(set(va) | set(vb))
                 if va.get(k) != vb.get(k)]
    if problems:
        print("different numbers:\n  " + "\n  ".join(problems[:20]))
        return 1
    last = ea[-1]
    print(f"same numbers: {len(ea)} epochs of {', '.join(PER_EPOCH)} equal; final epoch loss {last['train_loss']:.6f}, "
          f"val top-1 {last['val_top1_err']:.2%}; the same errors in {len(va)} verified (model, runtime, scale) rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
