#!/usr/bin/env python
"""Pack CIFAR-10, Mini-Places2, a class folder or the embedded digits into RecordIO: gluon_resnet/cli/pack.py."""
from gluon_resnet.cli.pack import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
