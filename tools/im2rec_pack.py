#!/usr/bin/env python
"""Pack CIFAR-10, Mini-Places2, a class folder or the embedded digits into MXNet RecordIO (gluon_resnet/cli/pack.py)."""
from gluon_resnet.cli.pack import main, parse_args  # noqa: F401  (tests parse the README's commands with it)

if __name__ == "__main__":
    main()
