#!/usr/bin/env python
"""`make demo`: pack the embedded digits, train ResNet-20 on the CPU with the CIFAR recipe scaled to a (gluon_resnet/cli/demo.py)"""
from gluon_resnet.cli.demo import main, parse_args  # noqa: F401  (tests parse the README's commands with it)

if __name__ == "__main__":
    main()
