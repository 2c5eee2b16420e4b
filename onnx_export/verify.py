#!/usr/bin/env python
"""Check a run's ONNX model against MXNet in onnxruntime, OpenVINO and OpenCV: gluon_resnet/cli/verify.py."""
from gluon_resnet.cli.verify import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
