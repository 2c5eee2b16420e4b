#!/usr/bin/env python
"""`make demo`: digits packed, ResNet-20 trained, exported to ONNX and INT8, verified: gluon_resnet/cli/demo.py."""
from gluon_resnet.cli.demo import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
