#!/usr/bin/env python
"""Print the model family: depth, trainable parameters and multiply-adds per image."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gluon_resnet import model_table  # noqa: E402

def parse_args(argv=None):
    import argparse
    return argparse.ArgumentParser(description=__doc__).parse_args(argv)


if __name__ == "__main__":
    parse_args()
    print(model_table())
