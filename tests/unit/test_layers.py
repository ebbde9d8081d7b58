"""The layers of the code, lowest first: a module may import its own layer and those below it, never
one above (walked over every module's imports, those inside functions included).

A layer is named by module prefixes; a module belongs to the layer of its longest matching prefix,
so ``ingest.synthetic`` (the demo prefecture, which plants cases by the policy's figures) sits
above ``policy`` while the rest of ``ingest`` sits below ``queries``, and ``api.main`` (the server:
the API with the workbench mounted on it) sits above ``viz``, whose pages call the API's routes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS: list[tuple[str, ...]] = [
    ("graph",),
    ("ingest",),
    ("queries",),
    ("policy",),
    ("actions", "ingest.synthetic", "ingest.identity"),
    ("api",),
    ("viz",),
    ("api.main",),
    ("cli",),
]
PACKAGES = sorted({prefix.split(".")[0] for layer in LAYERS for prefix in layer})


def layer_of(module: str) -> int | None:
    """The index of ``module``'s layer (by its longest matching prefix), None outside the layers.

    >>> layer_of("graph.stores.ladybug"), layer_of("ingest.loader"), layer_of("ingest.synthetic.people"), layer_of("api.main")
    (0, 1, 4, 7)
    >>> layer_of("numpy") is None
    True
    """
    best: tuple[int, int] | None = None
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """Every module ``path`` imports (absolute, or relative resolved against ``module``), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            found += [
                (node.lineno, f"{base}.{a.name}" if layer_of(f"{base}.{a.name}") is not None and a.name != "*" else base)
                for a in node.names
            ]
    return found


def _modules() -> list[tuple[Path, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((path, ".".join(parts)))
    return found


def test_the_layers_name_every_package_once() -> None:
    assert len(PACKAGES) == len({p for layer in LAYERS for p in layer if "." not in p})
    assert _modules(), "no module found"


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_a_layer_above_its_own(package: str) -> None:
    upward = []
    for path, module in _modules():
        if module.split(".")[0] != package:
            continue
        own = layer_of(module)
        for line, imported in imports_of(path, module):
            theirs = layer_of(imported)
            if theirs is not None and own is not None and theirs > own:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {imported} ({LAYERS[theirs][0]} is above {LAYERS[own][0]})")
    assert not upward, "\n".join(upward)


def test_the_walk_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "store.py"
    bad.write_text("def f():\n    from queries.registry import get_question\n", encoding="utf-8")
    [(line, imported)] = imports_of(bad, "graph.store")
    assert line == 2 and imported.startswith("queries.registry")
    assert layer_of(imported) > layer_of("graph.store")  # type: ignore[operator]
