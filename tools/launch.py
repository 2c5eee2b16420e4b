#!/usr/bin/env python
"""Run a training command as several workers of a dist kvstore: gluon_resnet/cli/launch.py."""
from gluon_resnet.cli.launch import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
