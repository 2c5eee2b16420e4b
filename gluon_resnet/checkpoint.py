"""Checkpoints in a run's save dir, each written atomically (temporary name, then rename).

    checkpoint-0007.params / .states / .json   parameters, trainer (optimizer) states, run state
    best.params / best.json                    the epoch with the lowest validation top-1 error
    model-symbol.json / model-0000.params      the best model exported at the end (input `data`)

A checkpoint counts once its .json exists: that file is written last.
"""
import glob
import json
import os
import re

from .errors import UserError

KEEP_LAST = 3


def _atomic(path, write):
    """`write(tmp_path)`, then rename over `path`: a reader never sees a partial file."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, obj):
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    _atomic(path, write)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def _prefix(save_dir, epoch):
    return os.path.join(save_dir, f"checkpoint-{epoch:04d}")


def epochs(save_dir):
    """Epochs with a complete checkpoint, oldest first."""
    found = []
    for path in glob.glob(os.path.join(save_dir, "checkpoint-*.json")):
        m = re.search(r"checkpoint-(\d+)\.json$", path)
        prefix = path[:-len(".json")]
        if m and os.path.exists(prefix + ".params") and os.path.exists(prefix + ".states"):
            found.append(int(m.group(1)))
    return sorted(found)


def save(save_dir, net, trainer, state, is_best):
    """Write the checkpoint of `state['epoch']`, refresh best.*, drop all but the last few."""
    prefix = _prefix(save_dir, state["epoch"])
    _atomic(prefix + ".params", net.save_parameters)
    _atomic(prefix + ".states", trainer.save_states)
    if is_best:
        _atomic(os.path.join(save_dir, "best.params"), net.save_parameters)
        write_json(os.path.join(save_dir, "best.json"), state)
    write_json(prefix + ".json", state)
    for old in epochs(save_dir)[:-KEEP_LAST]:
        _drop(save_dir, old)


def _drop(save_dir, epoch):
    for ext in (".json", ".params", ".states"):  # .json first: a half-deleted one is not "complete"
        os.remove(_prefix(save_dir, epoch) + ext)


def clear(save_dir):
    """Remove a run's checkpoints, best model and records: `--force` starts over."""
    for epoch in epochs(save_dir):
        _drop(save_dir, epoch)
    for name in ("metrics.jsonl", "best.json", "best.params", "summary.json"):
        if os.path.exists(os.path.join(save_dir, name)):
            os.remove(os.path.join(save_dir, name))


def rewind_metrics(save_dir, last_epoch):
    """Keep metrics.jsonl lines up to the checkpoint being resumed (a later line has no checkpoint)."""
    path = os.path.join(save_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return
    with open(path) as f:
        rows = [line for line in f if line.strip() and json.loads(line)["epoch"] <= last_epoch]

    def write(tmp):
        with open(tmp, "w") as f:
            f.writelines(rows)
    _atomic(path, write)


def latest(save_dir):
    """(state, prefix) of the newest complete checkpoint, or (None, None)."""
    done = epochs(save_dir)
    if not done:
        return None, None
    prefix = _prefix(save_dir, done[-1])
    return read_json(prefix + ".json"), prefix


def load_model(save_dir, which="best", ctx=None):
    """A trained network (float32, initialised on `ctx`) and its state: `best` or `latest`."""
    import mxnet as mx

    from .models import get_model
    if which == "best" and os.path.exists(os.path.join(save_dir, "best.json")):
        state, params = read_json(os.path.join(save_dir, "best.json")), os.path.join(save_dir, "best.params")
    else:
        state, prefix = latest(save_dir)
        if state is None:
            raise UserError(f"{save_dir} holds no checkpoint: train first with "
                            f"`python tools/train.py --save-dir {save_dir}`")
        params = prefix + ".params"
    a = state["args"]
    net = get_model(state["dataset"]["name"], a["n"], classes=state["dataset"]["num_classes"],
                    shortcut=a["shortcut"], initialize=False)
    net.load_parameters(params, ctx=ctx or mx.cpu(), cast_dtype=True, dtype_source="current")
    return net, state
