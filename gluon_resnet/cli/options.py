"""The training command line (MXNet fit.py conventions), shared by tools/train.py and the demo.

Every option stays None unless given: it is filled from the run being resumed, else from the defaults
in gluon_resnet/recipes.py (the dataset's recipe, then TRAINING), so that a resume knows which options were
given again. The help texts show those defaults."""
import argparse

from ..recipes import RECIPES, TRAINING, WARMUP_LR
from ..runs.config import show

FAMILIES = {"cifar": "CIFAR", "miniplaces": "Mini-Places2"}
KV_STORES = ("device", "local", "nccl", "dist_sync", "dist_device_sync")


def _number(kind, test, what):
    """An argparse type: `kind(text)` that passes `test`, else argparse's one-line usage error."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}")
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text} must be {what}")
        return value
    parse.__name__ = f"{kind.__name__} ({what})"
    return parse


positive_int = _number(int, lambda v: v >= 1, "at least 1")
nonnegative_int = _number(int, lambda v: v >= 0, "0 or more")
positive_float = _number(float, lambda v: v > 0 and v < float("inf"), "greater than 0")
nonnegative_float = _number(float, lambda v: 0 <= v < float("inf"), "0 or more")
fraction = _number(float, lambda v: 0 < v < 1, "between 0 and 1")
port = _number(int, lambda v: 1 <= v <= 65535, "a port number, 1-65535")
zlib_level = _number(int, lambda v: 0 <= v <= 9, "a zlib level, 0-9")


def floats(text):
    """`90,135` or `15,22.5` -> [90.0, 135.0] / [15.0, 22.5] (epochs may be fractional, none negative)."""
    return [nonnegative_float(x.strip()) for x in text.split(",") if x.strip()]


def sizes(text):
    """`112,128,160` -> [112, 128, 160]: image sizes in pixels."""
    values = [positive_int(x.strip()) for x in text.split(",") if x.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r} names no size; write sizes such as 32,40,48")
    return values


def kv_store(name):
    if name == "dist_async":
        raise argparse.ArgumentTypeError(
            "dist_async is not supported: MXNet runs it only with the optimizer on the servers, whose momentum "
            "a checkpoint cannot save, and it does not train what one machine trains; use dist_sync")
    if name not in KV_STORES:
        raise argparse.ArgumentTypeError(f"{name!r} is not one of {', '.join(KV_STORES)}")
    return name


def weights_option(parser, what):
    """--weights {final,best}, the one spelling of this choice in every tool (--export and --checkpoint
    are hidden old names)."""
    parser.add_argument("--weights", choices=["final", "best"],
                        help=f"the weights {what}: the final epoch's (default; the result, as neon reports it), or "
                             f"the best epoch's, selected on the validation set (the test set, on CIFAR-10)")
    for old in ("--export", "--checkpoint"):
        parser.add_argument(old, dest="weights", choices=["final", "best"], help=argparse.SUPPRESS)


def recipe(field):
    """A Recipe field's value for help texts: `0.1`, or `CIFAR 90,135; Mini-Places2 40,70` where the
    recipes differ."""
    values = {FAMILIES[name]: show(getattr(r, field)) for name, r in RECIPES.items()}
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return "; ".join(f"{family} {value}" for family, value in values.items())


def default(name):
    return show(TRAINING[name])


def train_parser(description=None):
    """tools/train.py's options."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--data-dir", help=f"a packed folder (tools/im2rec_pack.py); default {default('data_dir')}")
    d.add_argument("--data-threads", type=positive_int,
                   help=f"ImageRecordIter decoding/augmentation threads (default {default('data_threads')}); part "
                        f"of the run: MXNet seeds one augmentation generator per thread")
    m = p.add_argument_group("model")
    m.add_argument("--n", type=positive_int, help=f"residual blocks per stage: CIFAR 3/5/9/18 = ResNet-20/32/56/110 (default {default('n')})")
    m.add_argument("--shortcut", choices=["A", "B"],
                   help=f"A: neon's parameter-free zero-pad; B: 1x1 conv + BN (default {default('shortcut')})")
    h = p.add_argument_group("devices")
    h.add_argument("--gpus", help="GPU numbers such as 0,1; unset or empty trains on the CPU")
    h.add_argument("--cpus", type=positive_int, help=f"without --gpus: data-parallel over this many CPU contexts (default {default('cpus')})")
    h.add_argument("--kv-store", type=kv_store, metavar="{" + ",".join(KV_STORES) + "}",
                   help=f"gradient aggregation over devices (default {default('kv_store')}); dist_sync and dist_device_sync over "
                        "the workers of tools/launch.py, where every update averages the gradients of all "
                        "workers, as one machine would on their combined batch. dist_async is not offered: MXNet "
                        "keeps its momentum on the servers, where no checkpoint can save it")
    h.add_argument("--dtype", choices=["float32", "float16", "bfloat16"],
                   help="float16: multi-precision SGD (GPU only); bfloat16: mixed precision on CPUs with "
                        "AVX512-BF16 or AMX (MXNet's AMP, fp32 weights), hybridized; its speed-up depends on "
                        "the CPU (docs/performance.md)")
    h.add_argument("--hybridize", action=argparse.BooleanOptionalAction, default=None,
                   help=f"train the static graph (default {default('hybridize')}); --no-hybridize: imperative steps "
                        "on the CPU (GPUs always hybridize), slower on every CPU measured (docs/performance.md)")
    o = p.add_argument_group("optimization (defaults: the dataset's recipe)")
    o.add_argument("--batch-size", type=positive_int,
                   help=f"per worker, over its devices (recipe: {recipe('batch_size')}). With W launch.py workers each update sees "
                        "W x this many images and the learning rate applies to their mean gradient, as on one "
                        "machine: 2 workers x 64 train neon's batch of 128")
    o.add_argument("--num-epochs", type=positive_int, help=f"{recipe('num_epochs')}; at --resume it may grow")
    o.add_argument("--lr", type=positive_float, help=recipe("lr"))
    o.add_argument("--lr-factor", type=positive_float, help=recipe("lr_factor"))
    o.add_argument("--lr-step-epochs", type=floats, help=recipe("lr_step_epochs"))
    o.add_argument("--wd", type=nonnegative_float, help=recipe("wd"))
    o.add_argument("--mom", type=nonnegative_float, help=recipe("momentum"))
    o.add_argument("--warmup-epochs", type=nonnegative_float, help=f"epochs at --warmup-lr before lr (paper, ResNet-110: ~1; default {default('warmup_epochs')})")
    o.add_argument("--warmup-lr", type=positive_float, help=f"default lr x {WARMUP_LR:g}")
    o.add_argument("--seed", type=nonnegative_int, help=f"initialization and data order (default {default('seed')})")
    r = p.add_argument_group("run")
    r.add_argument("--save-dir", help="default runs/<dataset>-resnet<depth>")
    r.add_argument("--resume", action="store_true",
                   help="continue the run in --save-dir from its newest checkpoint, with every option it was "
                        "started with; options that change the training are refused, --num-epochs may grow")
    r.add_argument("--force", action="store_true", help="start over in a --save-dir that holds a run")
    r.add_argument("--eval-every", type=positive_int, help=f"validate every N epochs (and after the last); default {default('eval_every')}")
    weights_option(r, "exported at the end")
    return p
