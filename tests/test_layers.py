"""The import graph, read from the code: no cycle, and nothing imports from a higher layer.

Every import counts, the ones inside functions too (a lazy import is still a dependency;
it only hides a cycle), and those under ``if TYPE_CHECKING:`` (a module that names
another's class in its annotations knows it; a ``Protocol`` in the lower module breaks
such a cycle). A failure names each offending edge, marked "(type-only)" when no import
of it runs. The layers, lowest first; a module may import its own layer and
any layer below it:

0. foundation: errors, settings, files, events, download (and the package's ``__init__``)
1. core: the pure rules (``coach.core``)
2. records: the store and what reads it (history, summary, report, backup)
3. audio: the speaker, speech, the sounds (and the Wyoming wire, its health and voice)
4. hearing: recognizers and their models (they may use audio's WAV helpers), local or
   over Wyoming (``coach.remote``: the client's hearing, ``coach serve``, discovery)
5. dialogue: answer sources, asking, the (moment, command) -> action table
6. sessions: ``coach.workout`` and ``coach.scan``
7. the device and the demo, which run sessions
8. commands, one module per ``coach`` command
9. the command line
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "coach"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("coach", "coach.errors", "coach.settings", "coach.files", "coach.events",
     "coach.download"),
    ("coach.core",),
    ("coach.store", "coach.history", "coach.summary", "coach.report", "coach.backup"),
    ("coach.audio", "coach.sounds", "coach.remote.wire", "coach.remote.health",
     "coach.remote.voice"),
    ("coach.hearing", "coach.remote"),
    ("coach.dialogue",),
    ("coach.workout", "coach.scan"),
    ("coach.device", "coach.demo"),
    ("coach.commands",),
    ("coach.cli", "coach.__main__"),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, bool]]:
    """Every import statement in ``tree``, and whether it is only for type checking."""
    found: list[tuple[ast.stmt, bool]] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, type_only))
            if _type_checking_block(child):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), True)
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), type_only)
            else:
                visit(child, type_only)

    visit(tree, False)
    return found


def import_graph() -> tuple[dict[str, set[str]], set[tuple[str, str]]]:
    """Each module of ``coach`` -> the ``coach`` modules it imports (anywhere in it); and
    the edges (importer, imported) whose every import is under ``if TYPE_CHECKING:``."""
    paths = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    type_only_edges: set[tuple[str, str]] = set()
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: dict[str, bool] = {}  # target -> only for type checking
        for node, type_only in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    kept = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(kept + ([base] if base else []))
                # `from coach.x import module` names the module
                found = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base
                         for alias in node.names]
            for target in found:
                targets[target] = targets.get(target, True) and type_only
        graph[name] = {target for target in targets if target in paths and target != name}
        type_only_edges.update((name, target) for target in graph[name] if targets[target])
    return graph, type_only_edges


def edge(source: str, target: str) -> str:
    return f"{source} -> {target}" + (" (type-only)" if (source, target) in TYPE_ONLY else "")


def layer_of(module: str) -> int:
    """The layer of ``module``: that of the longest listed name it is or lies under."""
    best, rank = "", -1
    for number, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, rank = name, number
    return rank


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH, TYPE_ONLY = import_graph()


def test_every_module_has_a_layer():
    """A new top-level module must be placed in LAYERS (above) before it can be checked."""
    assert [name for name in sorted(GRAPH) if layer_of(name) < 0] == []


def test_no_import_cycle():
    found = cycles(GRAPH)
    edges = [edge(source, target) for group in found for source in group
             for target in sorted(GRAPH[source] & set(group))]
    assert found == [], "import cycles:\n  " + "\n  ".join(edges)


def test_no_import_from_a_higher_layer():
    upward = [f"{edge(source, target)}: layer {layer_of(source)} imports layer "
              f"{layer_of(target)}"
              for source in sorted(GRAPH) for target in sorted(GRAPH[source])
              if layer_of(target) > layer_of(source)]
    assert upward == [], "imports from a higher layer:\n  " + "\n  ".join(upward)


@pytest.mark.parametrize("source, expected", [
    ("from coach.hearing import models", {"coach.hearing.models"}),
    ("from coach.hearing import Recognizer", {"coach.hearing"}),
    ("from . import wavio", {"coach.audio.wavio"}),
    ("from .wavio import read_wav", {"coach.audio.wavio"}),
    ("import coach.audio.speech as speech", {"coach.audio.speech"}),
    ("def later():\n    from coach.store import Store", {"coach.store"}),
    ("if TYPE_CHECKING:\n    from coach.store import Store", {"coach.store"}),
])
def test_the_graph_reads_every_form_of_import(tmp_path, monkeypatch, source, expected):
    """What the checks above rest on: each way of writing an import gives its edge."""
    package = tmp_path / "coach"
    for folder in ("audio", "hearing", ""):
        (package / folder).mkdir(parents=True, exist_ok=True)
        (package / folder / "__init__.py").write_text("")
    for module in ("audio/wavio", "audio/speech", "hearing/models", "store"):
        (package / f"{module}.py").write_text("")
    (package / "audio" / "probe.py").write_text(source + "\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", package)
    graph, type_only = import_graph()
    assert graph["coach.audio.probe"] == expected
    assert (("coach.audio.probe", "coach.store") in type_only) == ("TYPE_CHECKING" in source)
