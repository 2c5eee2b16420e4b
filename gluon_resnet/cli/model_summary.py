"""Print the model family: depth, trainable parameters and multiply-adds per image."""
import argparse

from . import main_guard


def parse_args(argv=None):
    return argparse.ArgumentParser(description=__doc__).parse_args(argv)


@main_guard
def main(argv=None):
    parse_args(argv)
    from ..model.summary import model_table
    print(model_table())
