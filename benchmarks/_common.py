"""Where the benchmarks find the real data of ../shared/data."""

import os
import sys
from pathlib import Path

DATA_DIR_ENV = "KERASROBUST_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]


def find_data_dir(flag_value, needs, how, folder=False):
    """`(path, source)` of the data: `--data-dir`, else $KERASROBUST_DATA_DIR,
    else ../shared/data beside the repository. Exits with a message saying
    what the benchmark `needs` and `how` to pass it when it is missing
    (`folder=True`: the path must be a folder)."""
    if flag_value:
        path, source = Path(flag_value), "--data-dir"
    elif os.environ.get(DATA_DIR_ENV):
        path, source = Path(os.environ[DATA_DIR_ENV]), f"${DATA_DIR_ENV}"
    else:
        path = (REPO_ROOT / ".." / "shared" / "data").resolve()
        source = "default ../shared/data"
    if not (path.is_dir() if folder else path.exists()):
        sys.exit(f"error: data not found at {path} (from {source}). This "
                 f"benchmark needs {needs}: pass --data-dir <{how}> or set "
                 f"{DATA_DIR_ENV}.")
    return path, source
