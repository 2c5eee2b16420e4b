#!/usr/bin/env python
"""Overlay the validation error of several runs: gluon_resnet/cli/plot_runs.py."""
from gluon_resnet.cli.plot_runs import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
