"""Every public function of ``queries/`` and ``policy/`` has a numpydoc docstring: a summary line, and
an ``Examples`` section whose examples run as doctests (pytest's ``--doctest-modules`` runs them)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("queries", "policy")
_SECTION = re.compile(r"^Examples\n-{8}\n(.*)", re.M | re.S)


def public_functions(package: str) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """The top-level functions of ``package`` not named with a leading underscore, with their module."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node))
    return found


def problems(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """What a function's docstring lacks (empty when it is a numpydoc docstring with a runnable example)."""
    doc = ast.get_docstring(node)
    if not doc:
        return ["no docstring"]
    found = []
    if not doc.split("\n", 1)[0].strip():
        found.append("no summary line")
    section = _SECTION.search(doc)
    if section is None:
        found.append("no Examples section (numpydoc: 'Examples' underlined with 8 dashes)")
    elif ">>> " not in section.group(1):
        found.append("an Examples section without a >>> example")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_function_has_an_example(package: str) -> None:
    functions = public_functions(package)
    assert functions
    missing = [f"{where}: {'; '.join(p)}" for where, node in functions if (p := problems(node))]
    assert not missing, "\n".join(missing)


def test_the_check_sees_a_function_without_an_example() -> None:
    [node] = ast.parse('def f():\n    """Sum.\n\n    Examples\n    --------\n    See elsewhere.\n    """\n').body
    assert problems(node) == ["an Examples section without a >>> example"]  # type: ignore[arg-type]
    [node] = ast.parse("def g():\n    pass\n").body
    assert problems(node) == ["no docstring"]  # type: ignore[arg-type]
