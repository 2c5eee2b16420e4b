#!/usr/bin/env python
"""Print the model family: depth, trainable parameters and multiply-adds per image."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gluon_resnet import model_table  # noqa: E402

if __name__ == "__main__":
    print(model_table())
