#!/usr/bin/env python
"""Import a neon model file as a run folder: gluon_resnet/cli/import_neon.py."""
from gluon_resnet.cli.import_neon import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
