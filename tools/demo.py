#!/usr/bin/env python
"""`make demo`: pack the embedded digits, train ResNet-20 on the CPU with the CIFAR recipe scaled to a (gluon_resnet/cli/demo.py)"""
from gluon_resnet.cli.demo import main, parse_args

__all__ = ["main", "parse_args"]  # parse_args: the README's commands are tested with it

if __name__ == "__main__":
    main()
