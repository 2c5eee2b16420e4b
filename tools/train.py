#!/usr/bin/env python
"""Train a neon model-zoo ResNet on a packed dataset with neon's recipe. (gluon_resnet/cli/train.py)"""
from gluon_resnet.cli.train import main, parse_args  # noqa: F401  (tests parse the README's commands with it)

if __name__ == "__main__":
    main()
