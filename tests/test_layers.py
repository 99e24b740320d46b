"""The design, checked on the source: no import cycles, and imports only go down the layer table.

The import graph of ``src/edgeport`` is built from the source (every module ``ast``-parsed, no
code run): absolute and relative ``import`` / ``from … import`` statements anywhere in a module —
at the top, inside functions, under ``if TYPE_CHECKING:`` — become edges to the edgeport module
they name (``from pkg import sub`` is an edge to ``pkg.sub`` when ``sub`` is a module). Importing a
submodule is not counted as importing its parent packages. Lazy import paths held in strings
(the registry's, ``importlib.import_module``) are not seen.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "edgeport"

# The team's layer table (low → high); an import may only go to the same or a lower layer. A module's
# layer is that of the longest entry naming it: a module of a package (``report.terminal``) or the
# package itself (``report``); ``edgeport/__init__.py`` is top.
TERMINAL_VIEWS = ("report.terminal", "report.terminal_measure", "report.terminal_targets", "report.terminal_verify",
                  "report.terminal_pipeline")
LAYER_TABLE: tuple[tuple[str, ...], ...] = (
    ("errors", "_optional", "_registry", "_version", "_quiet"),
    ("core",),
    ("graph", "data", "store", "report"),
    ("runtimes",),
    # analysis sits with convert: profiling a .pt2 goes through its ONNX export (analysis.profile -> convert.api)
    # predict (latency/energy estimates) is called by analysis.compat and measures through bench; the device
    # agent runs the runtimes and the harness and imports none of analysis/convert (tested)
    ("analysis", "bench", "verify", "convert", "passes", "deploy", "predict", "agent"),
    ("compress", "study", "pipeline"),
    # the terminal views render every layer's results for the CLI, which alone calls them; the rest of
    # report/ (schema, HTML pages) takes plain documents and stays low
    ("doctor", *TERMINAL_VIEWS),
    ("cli",),
)
LAYERS = {name: level for level, names in enumerate(LAYER_TABLE) for name in names}
TOP = len(LAYER_TABLE) - 1



@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    where: str  # file:line of the first such import

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported} ({self.where})"


def find_modules(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is_package) for every ``.py`` file under ``root``."""
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph(root: Path, package: str) -> tuple[dict[str, dict[str, Edge]], list[str]]:
    """(importer -> imported -> Edge, imports of ``package`` modules that do not exist)."""
    modules = find_modules(root, package)
    graph: dict[str, dict[str, Edge]] = {name: {} for name in modules}
    missing: list[str] = []
    for name, (path, is_package) in modules.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    if node.level - 1 >= len(here):
                        continue  # above the package: not ours
                    base = ".".join([*here[:len(here) - (node.level - 1)], *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                if target != package and not target.startswith(package + "."):
                    continue
                where = f"{path.relative_to(root.parent)}:{node.lineno}"
                if target not in modules:
                    missing.append(f"{where}: imports {target}, which is no module of {package}")
                elif target != name:
                    graph[name].setdefault(target, Edge(name, target, where))
    return graph, missing


def without(graph: dict[str, dict[str, Edge]], allowed: set[tuple[str, str]]) -> dict[str, dict[str, Edge]]:
    return {a: {b: e for b, e in out.items() if (a, b) not in allowed} for a, out in graph.items()}


def cycles(graph: dict[str, dict[str, Edge]]) -> list[list[Edge]]:
    """One shortest cycle (as its edges) per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return [_shortest_cycle(graph, component) for component in components]


def _shortest_cycle(graph: dict[str, dict[str, Edge]], component: set[str]) -> list[Edge]:
    start = min(component)
    previous: dict[str, Edge] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node]):
            if child not in component:
                continue
            edge = graph[node][child]
            if child == start:
                path = [edge]
                while path[0].importer != start:
                    path.insert(0, previous[path[0].importer])
                return path
            if child not in previous:
                previous[child] = edge
                queue.append(child)
    raise AssertionError(f"no cycle found in component {sorted(component)}")  # cannot happen for an SCC


def layer_of(module: str, layers: dict[str, int], top: int) -> int | None:
    parts = module.split(".")
    if len(parts) == 1:
        return top
    for end in range(len(parts), 1, -1):  # the longest entry that names the module or a package above it
        level = layers.get(".".join(parts[1:end]))
        if level is not None:
            return level
    return None


def layer_problems(graph: dict[str, dict[str, Edge]], layers: dict[str, int], top: int) -> list[str]:
    """Every import from a lower layer to a higher one, and every module the layer table does not place."""
    problems = [f"{m}: its package {m.split('.')[1]!r} is not in the layer table" for m in sorted(graph)
                if layer_of(m, layers, top) is None]
    for importer in sorted(graph):
        for imported, edge in sorted(graph[importer].items()):
            low, high = layer_of(importer, layers, top), layer_of(imported, layers, top)
            if low is not None and high is not None and high > low:
                problems.append(f"{edge}: layer {low} imports layer {high}")
    return problems


def describe(cycle: list[Edge]) -> str:
    return " -> ".join([cycle[0].importer, *(f"{e.imported} ({e.where})" for e in cycle)])


# ---- the real package ------------------------------------------------------------------------
def _edgeport_graph() -> dict[str, dict[str, Edge]]:
    graph, missing = import_graph(SRC, "edgeport")
    assert not missing, "imports of modules that do not exist:\n" + "\n".join(missing)
    return graph  # no exceptions: a new cycle or upward import is a design change, made in this table


def test_no_import_cycles() -> None:
    found = cycles(_edgeport_graph())
    assert not found, f"{len(found)} import cycle(s):\n" + "\n".join(describe(c) for c in found)


def test_imports_only_go_down_the_layers() -> None:
    problems = layer_problems(_edgeport_graph(), LAYERS, TOP)
    assert not problems, f"{len(problems)} layering violation(s):\n" + "\n".join(problems)


def test_the_graph_sees_function_level_relative_and_type_checking_imports() -> None:
    graph, _ = import_graph(SRC, "edgeport")
    # edgeport/__init__.py imports its public names only under TYPE_CHECKING (they load lazily)
    assert "edgeport.analysis.profile" in graph["edgeport"]
    # imported inside a function
    assert "edgeport.graph.load" in graph["edgeport.study.targets"]


# ---- the checker itself, on planted packages ---------------------------------------------------
def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


_PLANTED_LAYERS = {"low": 0, "mid": 1, "high": 2}


def test_checker_reports_a_planted_cycle_with_its_path(tmp_path: Path) -> None:
    root = _write(tmp_path / "pkg", {
        "__init__.py": "",
        "low/__init__.py": "",
        "low/a.py": "from pkg.low import b\n",
        "low/b.py": "def f():\n    from .c import g\n",  # relative, inside a function
        "low/c.py": "def g():\n    import pkg.low.a\n",
        "low/d.py": "from . import a\n",  # imports into the cycle, not part of it
    })
    graph, missing = import_graph(root, "pkg")
    assert missing == []
    found = cycles(graph)
    assert [describe(c) for c in found] == [
        "pkg.low.a -> pkg.low.b (pkg/low/a.py:1) -> pkg.low.c (pkg/low/b.py:2) -> pkg.low.a (pkg/low/c.py:2)"]
    assert cycles(without(graph, {("pkg.low.c", "pkg.low.a")})) == []


def test_checker_reports_every_upward_import_and_unplaced_package(tmp_path: Path) -> None:
    root = _write(tmp_path / "pkg", {
        "__init__.py": "from pkg.high import top\n",  # the package itself is top: may import anything
        "low.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.mid.m import M\n",
        "mid/__init__.py": "",
        "mid/m.py": "import pkg.low\n\ndef f():\n    from ..high import top\n    import pkg\n",
        "high.py": "from pkg.mid import m\n",
        "stray.py": "",
    })
    graph, _ = import_graph(root, "pkg")
    assert layer_problems(graph, _PLANTED_LAYERS, 3) == [
        "pkg.stray: its package 'stray' is not in the layer table",
        "pkg.low -> pkg.mid.m (pkg/low.py:3): layer 0 imports layer 1",
        "pkg.mid.m -> pkg (pkg/mid/m.py:5): layer 1 imports layer 3",
        "pkg.mid.m -> pkg.high (pkg/mid/m.py:4): layer 1 imports layer 2",
    ]


def test_checker_reports_imports_of_missing_modules(tmp_path: Path) -> None:
    root = _write(tmp_path / "pkg", {"__init__.py": "", "low.py": "def f():\n    from pkg.gone import x\n"})
    assert import_graph(root, "pkg")[1] == ["pkg/low.py:2: imports pkg.gone, which is no module of pkg"]
