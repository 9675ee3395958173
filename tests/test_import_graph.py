"""The package's import graph: no cycle, no private module used from
another package (issue 13, item 2).

The graph is built from the source with `ast` (every `import` statement,
including those inside functions), independently of what Python happens to
import at run time.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parents[1] / "kerasrobust"


def _modules():
    """Dotted module name -> (path, is_package) for every file."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def _imports(name, path, is_package, modules):
    """The kerasrobust modules that module `name` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else (
                    name.split(".")[:-1])
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            # `from a import b` imports module a.b when there is one, else
            # a name from a.
            targets = [f"{base}.{alias.name}"
                       if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] != "kerasrobust":
                continue
            while target not in modules:
                target = target.rsplit(".", 1)[0]
            if target != name:
                found.add(target)
    return found


def _package(module):
    """The top-level unit a module belongs to: its subpackage
    (`kerasrobust.attacks`), or the root module itself."""
    parts = module.split(".")
    return ".".join(parts[:2])


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    return {name: _imports(name, path, is_package, modules)
            for name, (path, is_package) in modules.items()}


def _cycle(edges):
    """One cycle of the directed graph `edges`, or `None`."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_known_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c",
                                                            "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_graph_sees_imports_inside_functions(graph):
    # The root package imports its subpackages inside `import_all`.
    assert "kerasrobust.training" in graph["kerasrobust"]
    assert "kerasrobust.attacks.steps" in graph[
        "kerasrobust.training.smooth_adv"]


def test_no_import_cycle_between_packages(graph):
    """Subpackages (and root modules) import each other without a cycle,
    e.g. attacks <-> training or export <-> the root package."""
    packages = {}
    for module, targets in graph.items():
        source = _package(module)
        packages.setdefault(source, set()).update(
            _package(t) for t in targets if _package(t) != source)
    assert _cycle(packages) is None


def test_no_import_cycle_between_modules(graph):
    assert _cycle(graph) is None


def test_no_private_module_imported_across_packages(graph):
    """A private module (`_name.py`) of a subpackage is imported only from
    inside that subpackage. Private modules of the root (`kerasrobust._io`,
    `kerasrobust._validation`) serve the whole library."""
    offending = []
    for module, targets in graph.items():
        for target in targets:
            parts = target.split(".")
            private = [i for i, part in enumerate(parts) if
                       part.startswith("_") and not part.startswith("__")]
            if not private or private[0] < 2:
                continue
            owner = ".".join(parts[:private[0]])
            if not (module == owner or module.startswith(owner + ".")):
                offending.append(f"{module} -> {target}")
    assert offending == []
