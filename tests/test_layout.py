"""The package's shape: imports point one way, with no cycles, and functions stay short.

Layers, innermost first: ``utils`` (files, checks) <- the codec's core (layers, quantize, model,
discriminator, loss) <- ``checkpoint`` <- training (``data``, ``train``, ``utils.training``) <- the
sub-packages around the codec (``codec``, ``evaluate``, ``lm``, ``tools``) <- the package's face
(``dac_minimal/__init__.py``). A module may import from its own layer or inner ones at module level;
the only imports that reach outwards are the thin ``DAC`` methods that import on use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dac_minimal"
CORE = ("layers", "quantize", "model", "discriminator", "loss")
LAYERS = {"utils": 0, **dict.fromkeys(CORE, 1), "checkpoint": 2, "data": 3, "train": 3}
LAYERS |= {
    "utils.training": 3,
    "codec": 4,
    "evaluate": 4,
    "lm": 4,
    "tools": 4,
    "": 5,
    "__main__": 5,
}
#: Imports inside functions that reach an outer layer, on purpose: ``DAC.save/load`` and the
#: convenience methods ``compress``/``decompress``/``prepare_for_inference``.
OUTWARD_ON_USE = {
    ("model", "checkpoint"),
    ("model", "codec"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(name: str) -> int:
    """The layer of a module: its own entry, else its package's (``codec.dacm`` -> ``codec``)."""
    while name not in LAYERS:
        name = name.rpartition(".")[0]
    return LAYERS[name]


def imports(path: Path) -> tuple[set[str], set[str]]:
    """``(module-level, in functions)`` imports of package modules, named like ``codec.dacm``."""
    tree = ast.parse(path.read_text())
    top: set[str] = set()
    inner: set[str] = set()

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only, never executed
            names = []
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names = [child.module]
            elif isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            for name in names:
                if name == "dac_minimal" or name.startswith("dac_minimal."):
                    (inner if inside else top).add(name.removeprefix("dac_minimal").lstrip("."))
            visit(child, inside)

    visit(tree, False)
    return top, inner


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_no_relative_imports_hide_from_the_checks():
    for name, path in MODULES.items():
        relative = [n for n in ast.walk(ast.parse(path.read_text())) if getattr(n, "level", 0)]
        assert not relative, f"{name} uses relative imports; write them as dac_minimal.<module>"


@pytest.mark.parametrize("name", sorted(MODULES), ids=lambda n: n or "__init__")
def test_module_level_imports_point_inwards(name):
    top, _ = imports(MODULES[name])
    outward = sorted(dep for dep in top if layer(dep) > layer(name))
    assert not outward, f"{name or 'dac_minimal'} (layer {layer(name)}) imports outer {outward}"


def test_only_the_thin_dac_methods_import_outwards_on_use():
    found = set()
    for name, path in MODULES.items():
        _, inner = imports(path)
        for dep in inner:
            if layer(dep) > layer(name):
                found.add((name, dep.split(".")[0]))
    assert found == OUTWARD_ON_USE


def test_model_knows_nothing_of_files_formats_or_evaluation():
    top, _ = imports(MODULES["model"])
    assert top <= {"layers", "quantize", "utils.checks"}, top


def test_no_import_cycles():
    """Depth-first search over module-level imports (a package import runs its ``__init__``)."""
    graph = {}
    for name, path in MODULES.items():
        deps = set()
        for dep in imports(path)[0]:
            deps.add(dep)
            parts = dep.split(".")
            parents = (".".join(parts[:i]) for i in range(1, len(parts)))
            # a package's __init__ runs first, unless it is the importer's own (already running)
            deps.update(p for p in parents if not (name == p or name.startswith(p + ".")))
        graph[name] = {d for d in deps if d in MODULES and d != name}
    state: dict[str, int] = {}

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join([*stack, node, dep]))
            if dep not in state:
                dfs(dep, [*stack, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            dfs(node, [])


def function_lengths() -> list[tuple[str, str, int]]:
    rows = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                rows.append((name, node.name, node.end_lineno - node.lineno + 1))
    return rows


def test_functions_fit_on_a_screen():
    """At most 50 lines (docstring included) in the core modules, 60 anywhere in the package."""
    long = [
        f"{module}.{func}: {n} lines"
        for module, func, n in function_lengths()
        if n > (50 if module in CORE else 60)
    ]
    assert not long, long
