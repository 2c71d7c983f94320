"""The import rules of docs/architecture.md hold: each layer imports only what its row of the
table allows, and no modules import each other in a circle (lazy imports count too)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
CHECKED = ("bot", "handlers", "storage")
CYCLE_CHECKED = (*CHECKED, "bench")
TABLE_HEADING = "### Import rules"
TABLE_COLUMNS = 4
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Layer:
    name: str
    #: Module prefixes (``bot.core``); ``handlers`` of the registry is its ``__init__`` only.
    modules: tuple[str, ...]
    may_import: frozenset[str]
    never: frozenset[str]


def _module_of(folder: str) -> str:
    return folder.removesuffix("/__init__.py").removesuffix(".py").replace("/", ".")


def read_layers() -> list[Layer]:
    """The rows of the import-rule table in docs/architecture.md."""
    section = DOC.read_text(encoding="utf-8").split(TABLE_HEADING, 1)[1]
    rows = next(line for line in section.split("\n\n") if line.startswith("| layer"))
    layers = []
    for line in rows.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == TABLE_COLUMNS, line
        name, folders, may, never = cells
        layers.append(
            Layer(
                name=name,
                modules=tuple(_module_of(folder) for folder in _CODE.findall(folders)),
                may_import=frozenset(part.strip() for part in may.replace("`", "").split(",")),
                never=frozenset(_CODE.findall(never)),
            )
        )
    return layers


def _python_files(top: str) -> list[Path]:
    return sorted((ROOT / top).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports (``from a import b`` gives ``a.b`` when b is a module),
    at any depth: imports inside functions count."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield (full if _is_module(full) else node.module), node.lineno


def layer_of(module: str, layers: list[Layer]) -> Layer | None:
    """The layer whose most specific prefix matches ``module``."""
    best: tuple[int, Layer] | None = None
    for layer in layers:
        for prefix in layer.modules:
            exact_only = layer.name == "registry"
            matches = module == prefix or (not exact_only and module.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > best[0] or exact_only):
                best = (len(prefix) + (1 if exact_only else 0), layer)
    return best[1] if best else None


def allowed(target: str, layer: Layer, layers: list[Layer]) -> bool:
    for name in layer.may_import:
        if "." in name and (target == name or target.startswith(name + ".")):
            return True
    target_layer = layer_of(target, layers)
    return target_layer is not None and target_layer.name in layer.may_import


def test_the_table_names_every_layer() -> None:
    names = {layer.name for layer in read_layers()}
    assert {"core", "domain", "channels", "toolkit", "flows", "registry", "app"} <= names


def test_every_module_belongs_to_a_layer() -> None:
    layers = read_layers()
    orphans = [
        str(path.relative_to(ROOT))
        for top in CHECKED
        for path in _python_files(top)
        if _module_name(path) != "bot" and layer_of(_module_name(path), layers) is None
    ]
    assert orphans == []


def test_imports_follow_the_layers() -> None:
    layers = read_layers()
    broken = []
    for top in CHECKED:
        for path in _python_files(top):
            layer = layer_of(_module_name(path), layers)
            if layer is None:
                continue
            for target, line in imports_of(path):
                head = target.split(".")[0]
                ours = head in CHECKED
                if head in layer.never or (ours and not allowed(target, layer, layers)):
                    broken.append(f"{path.relative_to(ROOT)}:{line}: {layer.name} → {target}")
    assert broken == []


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("bot.core.engine", "core"),
        ("bot.eligibility.engine", "domain"),
        ("bot.channels.telegram", "channels"),
        ("handlers.common.consent", "toolkit"),
        ("handlers.registration", "flows"),
        ("handlers", "registry"),
        ("bot.app.runtime", "app"),
        ("storage.repositories.leads", "storage"),
    ],
)
def test_modules_are_placed_in_their_layer(module: str, expected: str) -> None:
    layer = layer_of(module, read_layers())
    assert layer is not None
    assert layer.name == expected


def test_forbidden_imports_are_recognised() -> None:
    layers = read_layers()
    flows = layer_of("handlers.registration", layers)
    core = layer_of("bot.core.engine", layers)
    assert flows is not None and core is not None
    assert not allowed("handlers.privacy", flows, layers)  # a flow importing a flow
    assert not allowed("bot.channels.telegram", flows, layers)
    assert not allowed("bot.app.runtime", flows, layers)
    assert allowed("handlers.common.consent", flows, layers)
    assert not allowed("handlers", core, layers)
    assert not allowed("bot.nlu.index", core, layers)
    assert allowed("bot.nlu.normalize", core, layers)
    assert "telegram" in flows.never


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for top in CYCLE_CHECKED for path in _python_files(top)}
    return {
        name: {target for target, _ in imports_of(path) if target in paths and target != name}
        for name, path in paths.items()
    }


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules importing each other in a circle (Tarjan's strong components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while (member := stack.pop()) != node:
                group.append(member)
            group.append(node)
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles() -> None:
    assert find_cycles(_graph()) == []


def test_a_cycle_is_found() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
