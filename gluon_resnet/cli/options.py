"""The training command line (MXNet fit.py conventions), shared by tools/train.py and the demo.

Every option stays None unless given: training.resolve() fills it from the run being resumed, else from
the dataset's recipe and DEFAULTS, so that a resume knows which options were given again."""
import argparse
import os

# Defaults of the options that do not come from the dataset's recipe.
DEFAULTS = dict(data_dir="data/cifar10", data_threads=min(4, os.cpu_count() or 1), n=9, shortcut="A", gpus="",
                cpus=1, kv_store="device", dtype="float32", seed=0, warmup_epochs=0.0, eval_every=1, weights="final",
                hybridize=False)
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


def train_parser(description=None):
    """tools/train.py's options."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--data-dir", help=f"a packed folder (tools/im2rec_pack.py); default {DEFAULTS['data_dir']}")
    d.add_argument("--data-threads", type=positive_int,
                   help=f"ImageRecordIter decoding/augmentation threads (default {DEFAULTS['data_threads']}); part "
                        f"of the run: MXNet seeds one augmentation generator per thread")
    m = p.add_argument_group("model")
    m.add_argument("--n", type=positive_int, help="residual blocks per stage: CIFAR 3/5/9/18 = ResNet-20/32/56/110 (default 9)")
    m.add_argument("--shortcut", choices=["A", "B"],
                   help="A: neon's parameter-free zero-pad (default); B: 1x1 conv + BN")
    h = p.add_argument_group("devices")
    h.add_argument("--gpus", help="GPU numbers such as 0,1; unset or empty trains on the CPU")
    h.add_argument("--cpus", type=positive_int, help="without --gpus: data-parallel over this many CPU contexts (default 1)")
    h.add_argument("--kv-store", type=kv_store, metavar="{" + ",".join(KV_STORES) + "}",
                   help="gradient aggregation over devices (default device); dist_sync and dist_device_sync over "
                        "the workers of tools/launch.py, where every update averages the gradients of all "
                        "workers, as one machine would on their combined batch. dist_async is not offered: MXNet "
                        "keeps its momentum on the servers, where no checkpoint can save it")
    h.add_argument("--dtype", choices=["float32", "float16", "bfloat16"],
                   help="float16: multi-precision SGD (GPU only); bfloat16: mixed precision on CPUs with "
                        "AVX512-BF16 or AMX (MXNet's AMP, fp32 weights), hybridized; its speed-up depends on "
                        "the CPU (docs/performance.md)")
    h.add_argument("--hybridize", action="store_true", default=None,
                   help="train the static graph on the CPU too (GPUs always do). Faster on some CPUs, slower on "
                        "others: measured 1.18-1.32x on an AVX2 AMD EPYC, 0.71x on an AVX-512 machine, where "
                        "MXNet 1.9's hybridized BatchNorm backward falls back to slow kernels")
    o = p.add_argument_group("optimization (defaults: the dataset's recipe)")
    o.add_argument("--batch-size", type=positive_int,
                   help="per worker, over its devices (recipe: 128). With W launch.py workers each update sees "
                        "W x this many images and the learning rate applies to their mean gradient, as on one "
                        "machine: 2 workers x 64 train neon's batch of 128")
    o.add_argument("--num-epochs", type=positive_int, help="CIFAR 180, Mini-Places2 80; at --resume it may grow")
    o.add_argument("--lr", type=positive_float, help="0.1")
    o.add_argument("--lr-factor", type=positive_float, help="0.1")
    o.add_argument("--lr-step-epochs", type=floats, help="CIFAR 90,135; Mini-Places2 40,70")
    o.add_argument("--wd", type=nonnegative_float, help="CIFAR 1e-4, Mini-Places2 5e-4")
    o.add_argument("--mom", type=nonnegative_float, help="0.9")
    o.add_argument("--warmup-epochs", type=nonnegative_float, help="epochs at --warmup-lr before lr (paper, ResNet-110: ~1)")
    o.add_argument("--warmup-lr", type=positive_float, help="default lr / 10")
    o.add_argument("--seed", type=nonnegative_int, help="initialization and data order (default 0)")
    r = p.add_argument_group("run")
    r.add_argument("--save-dir", help="default runs/<dataset>-resnet<depth>")
    r.add_argument("--resume", action="store_true",
                   help="continue the run in --save-dir from its newest checkpoint, with every option it was "
                        "started with; options that change the training are refused, --num-epochs may grow")
    r.add_argument("--force", action="store_true", help="start over in a --save-dir that holds a run")
    r.add_argument("--eval-every", type=positive_int, help="validate every N epochs (and after the last); default 1")
    weights_option(r, "exported at the end")
    return p
