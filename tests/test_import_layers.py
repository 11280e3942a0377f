"""The packages' imports form layers without cycles (docs/ARCHITECTURE.md, first lines),
``data_tools``' parts included.

Every ``import`` statement of ``msgan`` and ``data_tools`` counts, function-local ones
included: a lazy import delays a cycle, it does not remove it. Importing ``a.b.c`` runs
``a/__init__`` and ``a/b/__init__`` too, so those packages are edges as well (except the
importer's own enclosing packages, which are already being imported).
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data_tools", "msgan")
#: rank of each part: a module may import modules of its own rank or lower only
LAYERS = {
    "data_tools": 0,
    "msgan": 1, "msgan._version": 1, "msgan.errors": 1,
    "msgan.layers": 2, "msgan.losses": 2, "msgan.models": 2, "msgan.classic": 2,
    "msgan.training": 3,
    "msgan.inference": 4,
    "msgan.evaluation": 5,
    "msgan.saliency": 6,
    "msgan.experiments": 7,
    "msgan.cli": 8, "msgan.__main__": 8,
}
#: ranks inside ``data_tools``: lower or own part only; the three parts of the top rank
#: (preprocessing, simulation, shards) never import one another
DATA_TOOLS_LAYERS = {
    "data_tools": 0, "data_tools.errors": 0,
    "data_tools.contracts": 1,
    "data_tools.io": 2,
    "data_tools.preprocessing": 3, "data_tools.simulation": 3, "data_tools.shards": 3,
}


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _known(name: str, modules) -> str | None:
    """The longest prefix of dotted ``name`` that is one of our modules."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_names(module: str, path: Path) -> set[str]:
    """Dotted names that ``module`` imports anywhere in its source (absolute form)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join(package + ([node.module] if node.module else []))
            names.add(base)
            # ``from pkg import submodule`` imports the submodule
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> the modules (and enclosing packages) its imports execute."""
    modules = module_files()
    graph = {}
    for module, path in modules.items():
        own_packages = {".".join(module.split(".")[:k]) for k in range(1, module.count(".") + 1)}
        targets = set()
        for name in imported_names(module, path):
            found = _known(name, modules)
            while found:
                if found != module and found not in own_packages:
                    targets.add(found)
                found = found.rpartition(".")[0]
        graph[module] = targets
    return graph


def part_of(module: str, layers: dict[str, int] = LAYERS) -> str:
    """The longest prefix of ``module`` that ``layers`` ranks."""
    part = module
    while part not in layers:
        part = part.rpartition(".")[0]
        assert part, f"{module} belongs to no layer of {sorted(layers)}: add it"
    return part


def layer_of(module: str, layers: dict[str, int] = LAYERS) -> int:
    return layers[part_of(module, layers)]


def against_data_tools_layers(graph: dict[str, set[str]]) -> list[str]:
    """Edges inside ``data_tools`` that go up a rank or sideways into another part."""
    bad = []
    for a, targets in graph.items():
        if not a.startswith("data_tools"):
            continue
        for b in targets:
            if not b.startswith("data_tools"):
                continue
            pa, pb = part_of(a, DATA_TOOLS_LAYERS), part_of(b, DATA_TOOLS_LAYERS)
            if pa != pb and DATA_TOOLS_LAYERS[pb] >= DATA_TOOLS_LAYERS[pa]:
                bad.append(f"{a} -> {b}")
    return sorted(bad)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module."""
    names = sorted(graph)
    index = {name: i for i, name in enumerate(names)}
    rows = [index[a] for a in names for b in graph[a]]
    cols = [index[b] for a in names for b in graph[a]]
    matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(matrix, directed=True, connection="strong")
    groups = [[n for n in names if labels[index[n]] == label] for label in set(labels)]
    return sorted(g for g in groups if len(g) > 1)


def test_the_walker_sees_local_relative_and_package_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("import os\n"
                      "def f():\n    from ..b import c\n    import msgan.inference.geometry\n")
    names = imported_names("msgan.x.mod", source)
    assert {"msgan.b", "msgan.b.c", "msgan.inference.geometry"} <= names
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_data_tools_rule_catches_upward_and_sideways_imports():
    graph = {"data_tools.io.nifti": {"data_tools.shards.patches", "data_tools.errors"},
             "data_tools.shards.dataset": {"data_tools.simulation.cohort", "data_tools.io.nifti",
                                           "data_tools.shards.patches"},
             "data_tools.contracts.tasks": {"data_tools.io"}}
    assert against_data_tools_layers(graph) == [
        "data_tools.contracts.tasks -> data_tools.io", "data_tools.io.nifti -> data_tools.shards.patches",
        "data_tools.shards.dataset -> data_tools.simulation.cohort"]


def test_no_import_cycles():
    found = cycles(import_graph())
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_imports_flow_down_the_layers():
    graph = import_graph()
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                    if layer_of(b) > layer_of(a))
    assert upward == [], "imports against the layers " \
        "(data_tools -> models, training -> inference -> evaluation):\n" + "\n".join(upward)
    assert not any(b.startswith("msgan") for a, t in graph.items() if a.startswith("data_tools") for b in t)


def test_data_tools_parts_flow_down():
    """errors -> contracts -> io -> {preprocessing, simulation, shards} (docs/ARCHITECTURE.md)."""
    bad = against_data_tools_layers(import_graph())
    assert bad == [], "imports against data_tools' parts (errors, contracts < io < " \
        "preprocessing | simulation | shards):\n" + "\n".join(bad)
