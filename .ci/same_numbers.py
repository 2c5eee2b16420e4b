"""Runs of the digits demo (on several Pythons, the same machine) trained the same: every epoch's learning
rate, training loss and errors equal to the first run's, the same verified error for every runtime, and the
same bytes in the exported files.

    python3 .ci/same_numbers.py runs/digits-resnet20 OTHER/digits-resnet20 [MORE ...]
"""
import hashlib
import json
import os
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


FILES = ("model.onnx", "model.int8.onnx", "model-0000.params")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def compare(a, b):
    """The differences between runs `a` and `b` (none: an empty list)."""
    ea, eb = epochs(a), epochs(b)
    problems = [f"{len(ea)} epochs in {a}, {len(eb)} in {b}"] if len(ea) != len(eb) else []
    problems += [f"epoch {x['epoch']} {k}: {x[k]!r} vs {y[k]!r}" for x, y in zip(ea, eb) for k in PER_EPOCH
                 if x[k] != y[k]]
    va, vb = verified(a), verified(b)
    problems += [f"{' '.join(k)}: top-1/top-5 {va.get(k)} vs {vb.get(k)}" for k in sorted(set(va) | set(vb))
                 if va.get(k) != vb.get(k)]
    problems += [f"{name} differs" for name in FILES if digest(os.path.join(a, name)) != digest(os.path.join(b, name))]
    return problems


def main(first, *others):
    failed = False
    for other in others:
        problems = compare(first, other)
        if problems:
            print(f"different numbers, {first} and {other}:\n  " + "\n  ".join(problems[:20]))
            failed = True
    if failed:
        return 1
    ea, last = epochs(first), epochs(first)[-1]
    print(f"same numbers in {1 + len(others)} runs: {len(ea)} epochs of {', '.join(PER_EPOCH)} equal; final epoch loss "
          f"{last['train_loss']:.6f}, val top-1 {last['val_top1_err']:.2%}; the same errors in {len(verified(first))} "
          f"verified (model, runtime, scale) rows; {', '.join(FILES)} byte-identical")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
