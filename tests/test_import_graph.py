"""The package is acyclic: no bnn_init module imports (directly or through others) a module that
imports it back. Imports inside functions count too, so a cycle cannot hide in a lazy import."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bnn_init"


def _modules() -> dict:
    """Dotted module name -> source path, packages by their ``__init__.py``."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(module: str, node, modules: dict) -> list[str]:
    """The bnn_init modules one import statement of ``module`` loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in modules]
    package = module if modules[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    targets = []
    for alias in node.names:
        if f"{source}.{alias.name}" in modules:
            targets.append(f"{source}.{alias.name}")
        elif source in modules:
            targets.append(source)
    return targets


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict:
    """Module -> the modules its imports run: the targets and, outside the importer's own
    packages, their parent packages (importing a.b.c runs a/__init__ and a/b/__init__ first)."""
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        own = set(_ancestors(name))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _imported(name, node, modules):
                    runs = [a for a in _ancestors(target) if a not in own and a in modules]
                    graph[name].update(m for m in [*runs, target] if m != name)
    return graph


def _cycle_through(graph: dict, start: str) -> list[str] | None:
    """A shortest import path from ``start`` back to itself, or None."""
    frontier, seen = [[start]], {start}
    while frontier:
        path = frontier.pop(0)
        for target in sorted(graph[path[-1]]):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                frontier.append([*path, target])
    return None


def test_the_import_graph_sees_the_package():
    graph = import_graph()
    assert "bnn_init.export.rewrite" in graph
    assert {"bnn_init.theory", "bnn_init.theory.maps"} <= graph["bnn_init.graph.theory"]


def test_no_module_imports_one_that_imports_it_back():
    graph = import_graph()
    cycles = [cycle for name in sorted(graph) if (cycle := _cycle_through(graph, name))]
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles[:5])
