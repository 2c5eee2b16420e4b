"""The training command line (MXNet fit.py conventions), shared by tools/train.py and the demo."""
import argparse
import os


def floats(text):
    """`90,135` or `15,22.5` -> [90.0, 135.0] / [15.0, 22.5] (epochs may be fractional)."""
    return [float(x) for x in text.split(",") if x.strip()]


def train_parser(description=None):
    """tools/train.py's options; unset ones stay None and are filled by training.resolve()."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--data-dir", default="data/cifar10", help="a packed folder (tools/im2rec_pack.py)")
    d.add_argument("--data-threads", type=int, default=min(4, os.cpu_count() or 1),
                   help="ImageRecordIter decoding/augmentation threads")
    m = p.add_argument_group("model")
    m.add_argument("--n", type=int, help="residual blocks per stage: CIFAR 3/5/9/18 = ResNet-20/32/56/110 (default 9)")
    m.add_argument("--shortcut", choices=["A", "B"],
                   help="A: neon's parameter-free zero-pad (default); B: 1x1 conv + BN")
    h = p.add_argument_group("devices")
    h.add_argument("--gpus", default="", help="GPU numbers such as 0,1; empty trains on the CPU")
    h.add_argument("--cpus", type=int, default=1, help="without --gpus: data-parallel over this many CPU contexts")
    h.add_argument("--kv-store", default="device",
                   choices=["device", "local", "nccl", "dist_sync", "dist_device_sync", "dist_async"],
                   help="gradient aggregation over devices; dist_* over machines (see tools/launch.py)")
    h.add_argument("--dtype", choices=["float32", "float16"], help="float16: multi-precision SGD (GPU only)")
    o = p.add_argument_group("optimization (defaults: the dataset's recipe)")
    o.add_argument("--batch-size", type=int,
                   help="total over the devices of one worker (recipe: 128; with W workers, 128 / W keeps it)")
    o.add_argument("--num-epochs", type=int, help="CIFAR 180, Mini-Places2 80")
    o.add_argument("--lr", type=float, help="0.1")
    o.add_argument("--lr-factor", type=float, help="0.1")
    o.add_argument("--lr-step-epochs", type=floats, help="CIFAR 90,135; Mini-Places2 40,70")
    o.add_argument("--wd", type=float, help="CIFAR 1e-4, Mini-Places2 5e-4")
    o.add_argument("--mom", type=float, help="0.9")
    o.add_argument("--warmup-epochs", type=float, help="epochs at --warmup-lr before lr (paper, ResNet-110: ~1)")
    o.add_argument("--warmup-lr", type=float, help="default lr / 10")
    o.add_argument("--seed", type=int, help="initialization and data order (default 0)")
    r = p.add_argument_group("run")
    r.add_argument("--save-dir", help="default runs/<dataset>-resnet<depth>")
    r.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --save-dir")
    r.add_argument("--force", action="store_true", help="start over in a --save-dir that holds a run")
    r.add_argument("--eval-every", type=int, default=1, help="validate every N epochs (and after the last)")
    r.add_argument("--export", choices=["final", "best"], default="final",
                   help="the model exported at the end: the final epoch (the result, as neon reports it), or the "
                        "best one, selected on the validation set")
    return p
