"""Export a trained run to ONNX (<save-dir>/model.onnx): the final epoch unless --weights best; opset 13,
dynamic batch and image size; BatchNorm folded, the option-A shortcut as MaxPool + Pad, so that
onnxruntime, OpenVINO and OpenCV DNN 4.11 run it (verify.py checks each); class names, mean, input
size, multiscale protocol and the epoch in metadata_props."""
import argparse

from . import main_guard


def parse_args(argv=None):
    from .options import weights_option
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--save-dir", help="a run folder of tools/train.py (default: the newest under runs/)")
    p.add_argument("--out", help="default <save-dir>/model.onnx")
    weights_option(p, "exported")
    args = p.parse_args(argv)
    args.weights = args.weights or "final"
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from ..deploy.onnx_io import export, read_props
    from ..runs.folder import Run, selection_label
    out = export(args.save_dir or Run.most_recent().dir, args.out, args.weights)
    m = read_props(out)
    print(f"wrote {out}: {m['model']} on {m['dataset']}, epoch {m['trained_epoch']} ({selection_label(m['epoch_selection'])}), "
          f"{m['num_classes']} classes, input {m['input_size']}px (any size works), mean RGB {m['mean_rgb']}")
    return out
