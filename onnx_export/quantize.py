#!/usr/bin/env python
"""Quantize a run's ONNX model to INT8 (static QDQ, per-channel weights): gluon_resnet/cli/quantize.py."""
from gluon_resnet.cli.quantize import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
