#!/usr/bin/env python
"""Train a neon model-zoo ResNet with neon's recipe: gluon_resnet/cli/train.py."""
from gluon_resnet.cli.train import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
