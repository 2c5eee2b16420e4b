#!/usr/bin/env python
"""Print the model family: depth, parameters, multiply-adds: gluon_resnet/cli/model_summary.py."""
from gluon_resnet.cli.model_summary import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
