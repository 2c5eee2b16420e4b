"""A training run's folder: where each file lives, and the typed records written there.

    checkpoint-0007.params / .states / .json   parameters, trainer (optimizer) states, run state
    best.params / best.json                    the epoch with the lowest validation error (selected on
                                               the validation set, so never the headline)
    metrics.jsonl                              one line per epoch
    summary.json, val_error.png, train.log     written by training
    model-symbol.json / model-0000.params      the exported MXNet model (input `data`)
    model.onnx, model.int8.onnx, verify.json   ONNX exports and their check
    imported.json                              a model imported from neon: the file, its sha256, neon's version

Every file but train.log and the plot is written atomically and flushed to the disk (fileio: temporary
name, fsync, rename, fsync of the folder); metrics.jsonl is appended a flushed line at a time. A
checkpoint counts once its .json exists: that file is written last.
"""
import glob
import json
import logging
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass

from ..data.dataset import DatasetMeta
from ..errors import Command, UserError
from ..fileio import append_line, atomic, check_file, digest, read_json, replace, write_json
from ..model.export import export_hybridized
from ..recipes import TRAINING
from .config import TrainConfig

log = logging.getLogger("gluon_resnet")
KEEP_LAST = 3
SELECTIONS = ("final", "best")
BEST_LABEL = "best epoch, selected on the validation set"   # which epoch a model comes from: the last one, or the best on validation




def load_parameters(net, path, **kw):
    """net.load_parameters, with a file MXNet cannot read named in one line."""
    from ..compat import mx
    try:
        net.load_parameters(path, **kw)
    except (mx.base.MXNetError, AssertionError) as e:
        first = next((line for line in str(e).splitlines() if "rror" in line or "Check" in line), str(e))
        raise UserError(f"{path} cannot be loaded ({first.strip()[:120]}): the file is damaged or not this "
                        f"model's") from None


@dataclass(frozen=True)
class Score:
    """Validation error of one epoch (fractions)."""
    epoch: int
    val_top1_err: float
    val_top5_err: float


@dataclass(frozen=True)
class RunState:
    """What a checkpoint needs besides the weights: the run's whole config, its dataset, the best epoch."""
    epoch: int
    num_update: int
    config: TrainConfig
    dataset: DatasetMeta
    best: Score = None       # None until an epoch has been validated

    @property
    def model(self):
        from ..model.resnet import ModelSpec  # MXNet loads with the network, not with the run folder
        return ModelSpec(self.dataset.family, self.config.n, self.config.shortcut, self.dataset.num_classes)

    @property
    def data_dir(self):
        return self.config.data_dir

    def to_dict(self):
        return {"epoch": self.epoch, "num_update": self.num_update, "config": self.config.to_dict(),
                "dataset": self.dataset.to_dict(), "best": asdict(self.best) if self.best else None}

    @classmethod
    def from_dict(cls, d, save_dir):
        # Checkpoints written before TrainConfig kept some options under "args"; the rest were defaults.
        # Those written before --hybridize trained imperatively on the CPU.
        missing = {**{k: v for k, v in TRAINING.items() if k != "data_dir"}, "hybridize": False}
        config = TrainConfig.from_dict(d.get("config") or d["args"], save_dir=save_dir, **missing)
        return cls(d["epoch"], d["num_update"], config, DatasetMeta.from_dict(d["dataset"]),
                   Score(**d["best"]) if d.get("best") else None)


class Run:
    """A run folder. `Run(save_dir).path` and friends are the only way to name its files."""

    def __init__(self, save_dir):
        self.dir = str(save_dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    metrics = property(lambda self: self.path("metrics.jsonl"))
    summary = property(lambda self: self.path("summary.json"))
    log = property(lambda self: self.path("train.log"))
    plot = property(lambda self: self.path("val_error.png"))
    mxnet_prefix = property(lambda self: self.path("model"))   # model-symbol.json, model-0000.params
    onnx = property(lambda self: self.path("model.onnx"))
    int8_onnx = property(lambda self: self.path("model.int8.onnx"))
    verify_report = property(lambda self: self.path("verify.json"))
    imported = property(lambda self: self.path("imported.json"))   # where an imported model came from
    _best = property(lambda self: self.path("best"))

    def _checkpoint(self, epoch):
        return self.path(f"checkpoint-{epoch:04d}")

    def __repr__(self):
        return f"Run({self.dir!r})"

    # ------------------------------------------------------------ checkpoints

    def epochs(self):
        """Epochs with a complete checkpoint, oldest first."""
        found = []
        for path in glob.glob(os.path.join(glob.escape(self.dir), "checkpoint-*.json")):
            m = re.search(r"checkpoint-(\d+)\.json$", path)
            prefix = path[:-len(".json")]
            if m and os.path.exists(prefix + ".params") and os.path.exists(prefix + ".states"):
                found.append(int(m.group(1)))
        return sorted(found)

    def _damage(self, prefix, exts):
        """Why the checkpoint files `prefix` + exts differ from what its .json recorded, or None."""
        try:
            record = read_json(prefix + ".json")
            state = RunState.from_dict(record, self.dir)
        except (ValueError, KeyError, TypeError) as e:
            return None, f"{prefix}.json cannot be read ({type(e).__name__})"
        for ext in exts:
            path = prefix + ext
            expected = (record.get("files") or {}).get(ext)
            try:
                if expected:
                    check_file(path, expected, "", hash_it=True)
                elif os.path.getsize(path) == 0:  # written before checksums were recorded
                    return None, f"{path} is empty"
            except UserError as e:
                return None, str(e).rstrip("; ")
            except OSError as e:
                return None, f"{path} cannot be read ({e.strerror})"
        return state, None

    def last_checkpoint(self):
        """RunState of the newest intact checkpoint, or None when there is none. A damaged newer one is
        named and skipped (the last three are kept); when every one is damaged, a UserError says how
        to start over."""
        done = self.epochs() if os.path.isdir(self.dir) else []
        damaged = []
        for epoch in reversed(done):
            state, why = self._damage(self._checkpoint(epoch), (".params", ".states"))
            if state is not None:
                for reason in damaged:
                    log.warning(f"warning: {reason}; using epoch {epoch}, the newest intact checkpoint")
                return state
            damaged.append(why)
        if damaged:
            raise UserError(f"every checkpoint in {self.dir} is damaged ({damaged[0]}); start the run over with `",
                            Command("tools/train.py", "--save-dir", self.dir, "--force"), "` and its options")
        return None

    def params_and_states(self, state):
        prefix = self._checkpoint(state.epoch)
        return prefix + ".params", prefix + ".states"

    def save(self, net, trainer, state, is_best):
        """Write the checkpoint of `state.epoch` with the size and SHA-256 of its files, refresh best.*,
        drop all but the last few."""
        prefix = self._checkpoint(state.epoch)
        try:
            atomic(prefix + ".params", net.save_parameters)
            atomic(prefix + ".states", trainer.save_states)
            files = {ext: digest(prefix + ext) for ext in (".params", ".states")}
            if is_best:  # the same bytes as this checkpoint's parameters
                atomic(self._best + ".params", lambda tmp: shutil.copyfile(prefix + ".params", tmp))
                write_json(self._best + ".json", {**state.to_dict(), "files": {".params": files[".params"]}})
            write_json(prefix + ".json", {**state.to_dict(), "files": files})
        except BaseException:  # e.g. a full disk: no part of this checkpoint stays behind
            self._drop(state.epoch, missing_ok=True)
            raise
        for old in self.epochs()[:-KEEP_LAST]:
            self._drop(old)

    def _drop(self, epoch, missing_ok=False):
        for ext in (".json", ".params", ".states"):  # .json first: a half-deleted one is not "complete"
            path = self._checkpoint(epoch) + ext
            if not (missing_ok and not os.path.exists(path)):
                os.remove(path)

    def clear(self):
        """Remove checkpoints, best model and records: `--force` starts over."""
        for epoch in self.epochs():
            self._drop(epoch)
        for path in (self.metrics, self._best + ".json", self._best + ".params", self.summary, self.imported):
            if os.path.exists(path):
                os.remove(path)

    def selected(self, which="final"):
        """(RunState, params path) of the `final` epoch (the newest checkpoint) or the `best` one."""
        if which not in SELECTIONS:
            raise ValueError(f"which must be one of {SELECTIONS}, not {which!r}")
        if which == "best" and os.path.exists(self._best + ".json"):
            state, why = self._damage(self._best, (".params",))
            if state is None:
                raise UserError(f"{why}; use the final epoch instead (--weights final)")
            return state, self._best + ".params"
        state = self.last_checkpoint()
        if state is None:
            raise UserError(f"{self.dir} holds no checkpoint: train first with `",
                            Command("tools/train.py", "--save-dir", self.dir), "`")
        if which == "best":
            raise UserError(f"{self.dir} has no validated epoch (best.json); use the final epoch instead")
        return state, self.params_and_states(state)[0]

    def newest_checkpoint_time(self):
        """mtime of the newest file a model can be loaded from (for staleness checks), or 0."""
        paths = [self._best + ".params"] + [self._checkpoint(e) + ".params" for e in self.epochs()]
        return max((os.path.getmtime(p) for p in paths if os.path.exists(p)), default=0)

    def load_model(self, which="final", ctx=None):
        """(network in float32 on `ctx`, RunState) of the `final` or `best` epoch."""
        state, params = self.selected(which)  # a run with no such epoch is said before MXNet loads
        from ..compat import mx
        net = state.model.build(initialize=False)
        load_parameters(net, params, ctx=ctx or mx.cpu(), cast_dtype=True, dtype_source="current")
        return net, state

    def export_mxnet(self, which="final"):
        """The chosen epoch as a hybridized MXNet export, model-symbol.json + model-0000.params with
        input `data`. Returns (network, RunState)."""
        net, state = self.load_model(which)
        tmp = self.path(f".export-{uuid.uuid4().hex}")
        try:
            export_hybridized(net, state.dataset.crop_size, tmp)
            for suffix in ("-0000.params", "-symbol.json"):  # symbol last: readers look for it first
                replace(tmp + suffix, self.mxnet_prefix + suffix)
        finally:
            for suffix in ("-0000.params", "-symbol.json"):
                if os.path.exists(tmp + suffix):
                    os.remove(tmp + suffix)
        return net, state

    # ------------------------------------------------------------ records

    def append_metrics(self, row):
        append_line(self.metrics, json.dumps(row))

    def read_metrics(self):
        if not os.path.exists(self.metrics):
            raise UserError(f"{self.dir} has no metrics.jsonl: is it a run folder of tools/train.py?")
        with open(self.metrics) as f:
            return [json.loads(line) for line in f if line.strip()]

    def rewind_metrics(self, last_epoch):
        """Keep metrics.jsonl lines up to the checkpoint being resumed (a later line has no checkpoint)."""
        if not os.path.exists(self.metrics):
            return
        rows = [json.dumps(r) + "\n" for r in self.read_metrics() if r["epoch"] <= last_epoch]

        def write(tmp):
            with open(tmp, "w") as f:
                f.writelines(rows)
        atomic(self.metrics, write)

    def write_summary(self, summary):
        write_json(self.summary, asdict(summary))

    def write_verify_report(self, report):
        """verify.json keeps one report per model kind ("fp32", "int8"): a new one replaces its kind only."""
        reports = read_json(self.verify_report) if os.path.exists(self.verify_report) else {}
        write_json(self.verify_report, {**reports, report["model"]: report})
        return self.verify_report

    @staticmethod
    def most_recent(runs_dir="runs"):
        """The run under `runs_dir` with the newest checkpoint."""
        dirs = {os.path.dirname(p) for p in glob.glob(os.path.join(runs_dir, "*", "checkpoint-*.json"))}
        found = [r for r in map(Run, sorted(dirs)) if r.epochs()]
        if not found:
            raise UserError(f"no trained run under {runs_dir}/: train one with `", Command("tools/train.py"),
                            "`, or pass --save-dir")
        return max(found, key=lambda r: r.newest_checkpoint_time())


def selection_label(selection):
    """How a model's epoch choice ("final" or "best") reads in a report."""
    return BEST_LABEL if selection == "best" else "final epoch"
