#!/usr/bin/env python
"""Overlay the validation error of several runs (like the neon README's depth comparison), plus a (gluon_resnet/cli/plot_runs.py)"""
from gluon_resnet.cli.plot_runs import main, parse_args  # noqa: F401  (tests parse the README's commands with it)

if __name__ == "__main__":
    main()
