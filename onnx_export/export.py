#!/usr/bin/env python
"""Export a trained run to ONNX (<save-dir>/model.onnx): dynamic batch and image size, weights as
initializers only, class names / mean / input size / multiscale protocol in metadata_props."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from _bootstrap import main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--save-dir", help="a run folder of tools/train.py (default: the newest under runs/)")
    p.add_argument("--out", help="default <save-dir>/model.onnx")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from gluon_resnet.onnx_io import export, read_metadata
    from gluon_resnet.verification import newest_run
    out = export(args.save_dir or newest_run(), args.out)
    m = read_metadata(out)
    print(f"wrote {out}: {m['model']} on {m['dataset']}, {m['num_classes']} classes, input {m['input_size']}px "
          f"(any size works), mean RGB {m['mean_rgb']}")
    return out


if __name__ == "__main__":
    main()
