"""The `kerasrobust` command line."""

import argparse
import sys

from kerasrobust import __version__
from kerasrobust.cli import train


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kerasrobust",
        description="Robust regularization (ALPS and baselines) for Keras.",
    )
    parser.add_argument("--version", action="version",
                        version=f"kerasrobust {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train.add_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
