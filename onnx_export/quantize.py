#!/usr/bin/env python
"""Quantize a run's ONNX model to INT8 (<save-dir>/model.int8.onnx): static QDQ, per-channel int8 (gluon_resnet/cli/quantize.py)"""
from gluon_resnet.cli.quantize import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
