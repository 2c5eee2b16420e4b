#!/usr/bin/env python
"""Export a trained run to ONNX (opset 13, checked in onnxruntime, OpenVINO and OpenCV): gluon_resnet/cli/export.py."""
from gluon_resnet.cli.export import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
