"""Export a trained run to ONNX (<save-dir>/model.onnx): the final epoch unless --export best; dynamic
batch and image size; BatchNorm folded, the option-A shortcut as Slice + Pad, so that onnxruntime,
OpenVINO, OpenCV DNN and TensorRT all run it; class names, mean, input size, multiscale protocol and
the epoch in metadata_props."""
import argparse

from . import main_guard


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--save-dir", help="a run folder of tools/train.py (default: the newest under runs/)")
    p.add_argument("--out", help="default <save-dir>/model.onnx")
    p.add_argument("--export", choices=["final", "best"], default="final",
                   help="final: the last epoch (default); best: the epoch selected on the validation set")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..onnx_io import export, read_metadata
    from ..run import Run
    out = export(args.save_dir or Run.newest().dir, args.out, args.export)
    m = read_metadata(out)
    print(f"wrote {out}: {m['model']} on {m['dataset']}, epoch {m['trained_epoch']} ({m['epoch_selection']}), "
          f"{m['num_classes']} classes, input {m['input_size']}px (any size works), mean RGB {m['mean_rgb']}")
    return out
