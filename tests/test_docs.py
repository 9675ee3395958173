"""The documentation tells the truth about the code (issue 13, item 8)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layout_block():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def test_layout_lists_every_module():
    """Each module's file name is listed on its package's lines."""
    block = _layout_block()
    # Lines of a package start at "  name/" and run to the next one.
    packages = dict(re.findall(r"^  (\w+)/(.*?)(?=^  \w+/|^\S|\Z)", block,
                               re.M | re.S))
    root_lines = block.split("\n  training/")[0]
    missing = []
    for path in sorted((ROOT / "kerasrobust").rglob("*.py")):
        relative = path.relative_to(ROOT / "kerasrobust")
        if len(relative.parts) == 1:
            if path.name not in root_lines:
                missing.append(str(relative))
        elif path.name != "__init__.py" or relative.parts[0] == "cli":
            lines = packages.get(relative.parts[0], "")
            if path.name not in lines:
                missing.append(str(relative))
    assert missing == []


def _certify_seconds():
    """Measured certify seconds per image by model (mean over repeats),
    from the benchmark's result file."""
    import json

    result = json.loads((ROOT / "benchmarks" / "results" /
                         "certify_speed.json").read_text())
    return {row["model"]: row["seconds_per_image"]["certify"]["mean"]
            for row in result["summary"]}


def test_certify_times_in_help_readme_and_benchmarks_agree():
    """The certify help, README and BENCHMARKS.md quote the measured
    seconds per image of benchmarks/results/certify_speed.json."""
    from kerasrobust.cli import certify

    seconds = _certify_seconds()
    small = seconds["small_cnn"]
    quoted = re.search(r"about (\d+(?:\.\d+)?) s for the small CNN",
                       " ".join(certify.__doc__.split()))
    assert quoted, "the certify help quotes no time"
    assert abs(float(quoted.group(1)) - small) <= 0.1 * small
    assert not re.search(r"\b4 s per image", certify.__doc__)
    for name, text in (("README.md", (ROOT / "README.md").read_text()),
                       ("BENCHMARKS.md",
                        (ROOT / "BENCHMARKS.md").read_text())):
        for model, value in seconds.items():
            rows = re.findall(rf"^\| `?{model}`?[^|]*\|[^|]*\| ([\d.]+) \|",
                              text, re.M)
            assert rows, f"{name} has no certify speed row for {model}"
            assert {float(r) for r in rows} == {round(value, 1)}, (name, model)
