"""The `kerasrobust` command line.

Starting fast: `kerasrobust --help`, `--version` and `kerasrobust COMMAND
--help` (every command) load neither TensorFlow nor the library (the root
package skips its imports when it is the command, see
`kerasrobust.started_as_command`; the parsers are built from TensorFlow-free
modules, see `kerasrobust.cli._options`). Only the module of the command
being run is imported, and the library with it when it runs.

Speaking quietly: unless `kerasrobust --verbose COMMAND ...` is given,
TensorFlow's C++ log lines are hidden (`TF_CPP_MIN_LOG_LEVEL=3`, set before
TensorFlow is imported, and, because TF 2.21 writes some lines such as
"Could not find cuda drivers" or the CUDA `cuInit` error before that
setting applies, the process's native stderr, file descriptor 2, is
pointed at the null device while the command runs; Python's `sys.stderr`,
and with it every kerasrobust message, still reaches the terminal), as are
the Python warnings and log lines of TensorFlow, Keras and their helpers
(such as "`shuffle=True` ... will be ignored").

Failing clearly: every error a user can cause (bad flags or values,
missing, unreadable or corrupt files, an unavailable dataset) is printed as
one line, `kerasrobust COMMAND: error: ...`, with exit status 2.
"""

import argparse
import contextlib
import importlib
import logging
import os
import sys
import warnings

from kerasrobust._version import __version__
from kerasrobust.cli._options import COMMANDS
from kerasrobust.cli._options import attach_loaded_modules

#: Exceptions that mean bad input (or an unusable file) rather than a bug:
#: printed as one line with exit status 2.
USER_ERRORS = (ValueError, TypeError, OSError, EOFError)


def _command_in(argv):
    """Index of the subcommand in `argv` (the first word that is one), or
    `None`."""
    for i, word in enumerate(argv):
        if word in COMMANDS:
            return i
        if not word.startswith("-"):
            return None
    return None


_ALL = object()


def build_parser(command=_ALL):
    """The argument parser.

    By default every subcommand's parser is built (each module is imported,
    and TensorFlow with them). With `command` (a name, or `None` for none)
    only that one is; the others are listed by name and help, which is all
    `kerasrobust --help` needs.
    """
    parser = argparse.ArgumentParser(
        prog="kerasrobust",
        description="Robust regularization (ALPS and baselines) and "
                    "certified robustness (randomized smoothing) for Keras.",
    )
    parser.add_argument("--version", action="version",
                        version=f"kerasrobust {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up log and Python "
                             "warnings (hidden by default)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        if command is _ALL or name == command:
            importlib.import_module(module).add_parser(commands)
        else:
            commands.add_parser(name, help=summary)
    return parser


#: Packages whose Python warnings and log lines the quiet mode hides; the
#: library's own warnings (e.g. an out-of-memory retry) stay visible.
_NOISY = r"(keras|tensorflow|tf_keras|keras_tuner|tensorflow_datasets|" \
         r"tensorflow_probability|absl|google|h5py)(\.|$)"


def quiet_tensorflow():
    """Hides TensorFlow's C++ log (call before TensorFlow is imported), and
    the Python warnings and log lines of TensorFlow, Keras and their
    helpers ("`shuffle=True` ... will be ignored" and the like)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", module=_NOISY)
    for name in ("tensorflow", "absl", "keras_tuner"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def native_stderr_hidden():
    """Points file descriptor 2 at the null device (C++ log lines vanish)
    while Python's `sys.stderr` keeps writing to the original stream."""
    try:
        sys.stderr.flush()
        original = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    python_stderr = sys.stderr
    try:
        writes_fd2 = python_stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        writes_fd2 = False  # e.g. captured by pytest: nothing to move
    if writes_fd2:
        sys.stderr = os.fdopen(os.dup(original), "w", buffering=1,
                               encoding=python_stderr.encoding,
                               errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        if writes_fd2:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(original, 2)
        os.close(original)


def flag_names(parser, argv):
    """Python argument name -> the flag the user gave for it, for the
    options of `parser` that appear in `argv`: `step_size` ->
    `--step-size`, and a name that only ends a flag's (`epsilon` of
    `--adv-epsilon`) when exactly one given flag ends with it."""
    given = {}
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--") and any(
                    word == option or word.startswith(option + "=")
                    for word in argv):
                given[action.dest] = option
    names = dict(given)
    for dest, option in given.items():
        parts = dest.split("_")
        for i in range(1, len(parts)):
            tail = "_".join(parts[i:])
            ending = [d for d in given if d == tail or d.endswith("_" + tail)]
            if tail not in given and len(ending) == 1:
                names[tail] = option
    return names


def error_message(error, flags=None):
    """The one-line text of `error` for the command line; a Python
    argument quoted as `name` is renamed to its flag (`flags`), so a check
    raised deep in the library names what the user typed."""
    if isinstance(error, OSError) and error.filename is not None:
        reason = error.strerror or str(error)
        text = f"{reason}: {error.filename}"
    else:
        text = str(error) or type(error).__name__
    if isinstance(error, EOFError):
        text = f"file ended early (truncated or corrupt): {text}"
    for name, flag in (flags or {}).items():
        text = text.replace(f"`{name}`", f"`{flag}`")
    return " ".join(text.split())


def main(argv=None):
    """Entry point of the console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    index = _command_in(argv)
    if "--verbose" in argv[:index]:
        return _main(argv, index)
    # The warning filters are restored on return (main may be called from
    # Python); the environment variable only matters before TF is loaded.
    with warnings.catch_warnings(), native_stderr_hidden():
        quiet_tensorflow()
        return _main(argv, index)


def _main(argv, index):
    command = argv[index] if index is not None else None
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    flags = flag_names(parser._subparsers._group_actions[0].choices[
        args.command], argv)
    try:
        import kerasrobust

        kerasrobust.import_all()
        attach_loaded_modules()
        return args.run(args)
    except USER_ERRORS as error:
        message = error_message(error, flags)
    except RuntimeError as error:
        if type(error).__name__ != "DatasetUnavailableError":
            raise
        message = error_message(error, flags)
    print(f"kerasrobust {args.command}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
