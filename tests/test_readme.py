"""The README's code runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_library_usage_snippet_runs(tmp_path, monkeypatch):
    block = next(b for b in _python_blocks() if "ALPS(" in b)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    model = namespace["model"]
    accuracy = model.evaluate(namespace["data"].x_test,
                              namespace["data"].y_test, verbose=0,
                              return_dict=True)["accuracy"]
    assert accuracy > 0.9
    assert (tmp_path / "alps.keras").is_file()
