"""Import a neon model file (.prm / .pkl of neon 1.x or 2.x) of the zoo's CIFAR-10 ResNet (any n) or
Mini-Places2 ResNet as a run folder that evaluate.py, export.py, quantize.py, verify.py, predict.py and
train.py --resume read like a trained run. The network and n come from the file's layer tree."""
import argparse

from . import main_guard


def parse_args(argv=None):
    from ..recipes import KNOWN_DATASETS
    from .options import positive_int
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("model", help="neon's file, as Model.save_params or the Serialize callback wrote it")
    p.add_argument("--save-dir", required=True, help="the run folder to write")
    p.add_argument("--data-dir", help="the packed dataset the model belongs to: class names, mean, split sizes; "
                                      "needed to continue training with train.py --resume")
    p.add_argument("--dataset", choices=sorted(KNOWN_DATASETS),
                   help="without --data-dir: take class names and mean from this dataset's recipe (default: the "
                        "one the network is for)")
    p.add_argument("--channels", choices=("bgr", "rgb"), default="bgr",
                   help="the order of the colour planes neon trained on: bgr for neon's ImageLoader (OpenCV), "
                        "rgb for arrays in RGB order (default: %(default)s)")
    p.add_argument("--batch-size", type=positive_int,
                   help="the batch size training goes on with (neon's files hold none; default: the recipe's 128)")
    p.add_argument("--force", action="store_true", help="replace a run already in --save-dir")
    args = p.parse_args(argv)
    if args.data_dir and args.dataset:
        p.error("--dataset names the dataset when no --data-dir is given; pass one of them")
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..errors import render
    from ..train.neon_import import NeonImport, import_neon, next_steps
    from .hints import words
    cfg = NeonImport(args.model, args.save_dir, args.data_dir, args.dataset, args.channels, args.batch_size, args.force)
    run, model = import_neon(cfg)
    states = "with neon's momentum buffers" if model.momentum is not None else "no optimizer states in the file"
    from ..model.neon import network_name
    print(f"imported {args.model}: {network_name(model.family, model.n)} of {model.classes} classes, neon "
          f"{model.neon_version}, {model.dtype}, epoch_index {model.epoch_index}")
    print(f"wrote {run.dir}: checkpoint of epoch {model.epoch_index}, {states}")
    print(render(next_steps(run, cfg), words))
    return run
