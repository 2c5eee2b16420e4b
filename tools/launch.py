#!/usr/bin/env python
"""Run a training command as several workers of a dist kvstore on this machine: (gluon_resnet/cli/launch.py)"""
from gluon_resnet.cli.launch import main, parse_args  # noqa: F401  (tests parse the README's commands with it)

if __name__ == "__main__":
    main()
