"""The `kerasrobust` command line."""

import argparse
import sys

from kerasrobust._version import __version__
from kerasrobust.cli import analyze
from kerasrobust.cli import attack
from kerasrobust.cli import certify
from kerasrobust.cli import export
from kerasrobust.cli import train
from kerasrobust.cli import tune


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kerasrobust",
        description="Robust regularization (ALPS and baselines) for Keras.",
    )
    parser.add_argument("--version", action="version",
                        version=f"kerasrobust {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train.add_parser(commands)
    attack.add_parser(commands)
    certify.add_parser(commands)
    analyze.add_parser(commands)
    tune.add_parser(commands)
    export.add_parser(commands)
    return parser


def main(argv=None):
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except (ValueError, TypeError, FileNotFoundError,
            FileExistsError) as error:
        # Bad input: a clear one-line message, no traceback.
        print(f"kerasrobust {args.command}: error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        if type(error).__name__ != "DatasetUnavailableError":
            raise
        print(f"kerasrobust {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
