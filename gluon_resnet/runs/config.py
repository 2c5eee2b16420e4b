"""TrainConfig: every option of a training run, resolved, saved whole in each checkpoint.

`--resume` restores it. An option given again at resume is compared with the saved value: one that
would change the training (FIXED_OPTIONS) is refused, `num_epochs` may only grow, and the rest (where the
data is, which devices, how often to validate, what to export) may change freely. The resume command
is generated from it (resume_command), so train.py and launch.py print the same text.
"""
from dataclasses import asdict, dataclass, fields, replace

from ..errors import Command, UserError
from ..recipes import WARMUP_LR, training_defaults

# Options whose value changes the steps a run takes: fixed for the life of a run.
FIXED_OPTIONS = ("n", "shortcut", "batch_size", "lr", "lr_factor", "lr_step_epochs", "wd", "mom", "warmup_epochs",
                 "warmup_lr", "seed", "dtype", "data_threads", "workers", "hybridize")


@dataclass(frozen=True)
class TrainConfig:
    data_dir: str
    save_dir: str
    n: int                    # residual blocks per stage
    shortcut: str             # "A" (zero-pad) or "B" (projection)
    batch_size: int           # per worker, over its devices; the global batch is batch_size x workers
    num_epochs: int
    lr: float
    lr_factor: float
    lr_step_epochs: tuple     # epochs (may be fractional) after which lr *= lr_factor
    wd: float
    mom: float
    warmup_epochs: float
    warmup_lr: float
    seed: int
    dtype: str                # float32, float16 (GPUs), bfloat16 (CPUs with AVX512-BF16 or AMX)
    data_threads: int         # MXNet 1.9 seeds one augmentation generator per decode thread
    hybridize: bool           # the static graph (False: imperative steps on the CPU, which round differently)
    gpus: str = ""
    cpus: int = 1
    kv_store: str = "device"
    workers: int = 1          # dist kvstore workers
    eval_every: int = 1
    weights: str = "final"    # exported at the end: "final" or "best"

    def __post_init__(self):
        object.__setattr__(self, "lr_step_epochs", tuple(float(e) for e in self.lr_step_epochs))

    @classmethod
    def for_recipe(cls, recipe, data_dir, save_dir, **given):
        """The options `given` ({field: value}) over the defaults of `recipe` and recipes.TRAINING; an unset
        warmup_lr follows lr."""
        values = {**training_defaults(recipe), **given, "data_dir": str(data_dir)}
        values.setdefault("warmup_lr", values["lr"] * WARMUP_LR)
        return cls(save_dir=str(save_dir), **values)

    def to_dict(self):
        return {**asdict(self), "lr_step_epochs": list(self.lr_step_epochs)}

    @classmethod
    def from_dict(cls, d, **missing):
        """From a checkpoint; `missing` fills fields that older checkpoints did not record."""
        known = {f.name for f in fields(cls)}
        if "export" in d:  # the name before --weights
            d = {**d, "weights": d["export"]}
        return cls(**{**missing, **{k: v for k, v in d.items() if k in known}})

    def devices(self):
        """(device type, how many): what the batch is split over on each worker."""
        return ("gpu", len(self.gpus.split(","))) if self.gpus else ("cpu", self.cpus)

    def resumed_with(self, given, done_epochs, finished=True):
        """This (saved) config with the options `given` again at resume ({name: value}, unset ones left
        out) applied: refused in one line where they would change the training. `finished`: the run's
        end (export, summary) was written; a run stopped after its last epoch but before that resumes
        to write it."""
        for key, value in given.items():
            saved = getattr(self, key)
            if key in FIXED_OPTIONS and not _same(value, saved):
                raise UserError(f"--resume: {self.save_dir} was trained with --{flag(key)} {show(saved)}, not "
                                f"{show(value)}; leave it out to continue the run as it was, or start a new run "
                                f"in another --save-dir")
        cfg = replace(self, **{k: v for k, v in given.items() if k not in FIXED_OPTIONS})
        (kind, count), (_, new_count) = self.devices(), cfg.devices()
        if new_count != count:
            # Each device normalizes its own share of the batch: BatchNorm's statistics, so the steps, change.
            was = f"--gpus {self.gpus}" if self.gpus else f"--cpus {self.cpus}"
            now = f"--gpus {cfg.gpus}" if cfg.gpus else f"--cpus {cfg.cpus}"
            raise UserError(f"--resume: {self.save_dir} was trained on {count} {kind.upper()} device(s) ({was}), "
                            f"not {new_count} ({now}): each device normalizes its own share of the batch, so "
                            f"BatchNorm would see other statistics; resume on {count} device(s)")
        if cfg.num_epochs < done_epochs or (cfg.num_epochs == done_epochs and finished):
            raise UserError(f"--resume: {self.save_dir} has finished {done_epochs} epochs already; pass a larger "
                            f"--num-epochs to extend the run")
        return cfg

    def resume_command(self, launch=""):
        """The Command that continues this run (every option comes back from the checkpoint). `launch`: the
        launcher's command up to its `--`, for dist jobs."""
        return Command("tools/train.py", "--save-dir", self.save_dir, "--resume", prefix=launch)


def flag(key):
    return key.replace("_", "-")


def show(v):
    fmt = lambda x: f"{x:g}" if isinstance(x, float) else str(x)  # noqa: E731
    return ",".join(map(fmt, v)) if isinstance(v, (list, tuple)) else fmt(v)


def _same(a, b):
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return tuple(map(float, a)) == tuple(map(float, b))
    return a == b
