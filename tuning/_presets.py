"""Shared by the search scripts: a preset of `kerasrobust tune` flags plus
the user's own, which win."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Run from a checkout without `pip install -e .`.
    sys.path.insert(0, str(REPO_ROOT))


def command(name, small, paper, argv=None):
    """The `kerasrobust tune` argv: the small preset (or the paper's with
    `--paper`), an output folder under runs/tuning/, then `argv`.

    Later flags win in argparse; a `--space NAME=...` in `argv` replaces the
    preset's entry for NAME.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    use_paper = "--paper" in argv
    argv = [a for a in argv if a != "--paper"]
    preset = paper if use_paper else small
    overridden = {value.partition("=")[0]
                  for flag, value in zip(argv, argv[1:]) if flag == "--space"}
    kept, i = [], 0
    while i < len(preset):
        if (preset[i] == "--space"
                and preset[i + 1].partition("=")[0] in overridden):
            i += 2
            continue
        kept.append(preset[i])
        i += 1
    out_dir = f"runs/tuning/{name}{'_paper' if use_paper else ''}"
    return ["tune", *kept, "--out-dir", out_dir, *argv]


def main(name, small, paper, argv=None):
    from kerasrobust.cli import main as cli_main

    return cli_main(command(name, small, paper, argv))
