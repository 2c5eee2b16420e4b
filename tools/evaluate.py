#!/usr/bin/env python
"""Top-1 / top-5 error of a trained run, single-scale and multiscale: gluon_resnet/cli/evaluate.py."""
from gluon_resnet.cli.evaluate import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
