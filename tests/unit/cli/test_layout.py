"""The command line's layout (issue 25): a module per command group, each small enough to read."""

from __future__ import annotations

from pathlib import Path

from cli.main import app

CLI = Path(__file__).resolve().parents[3] / "cli"


def test_each_command_group_is_a_module_under_250_lines() -> None:
    groups = sorted(p.stem for p in (CLI / "commands").glob("*.py") if p.stem != "__init__")
    assert groups == [
        "audit",
        "casework",
        "data",
        "household",
        "identity",
        "intake",
        "keys",
        "linkage",
        "policy",
        "resources",
        "serve",
        "services",
    ]
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in (CLI / "commands").glob("*.py")}
    assert max(sizes.values()) < 250, sizes
    assert all(len(p.read_text(encoding="utf-8").splitlines()) < 450 for p in CLI.glob("*.py"))


def test_every_command_is_registered_once() -> None:
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert len(names) == len(set(names)) == 30
    assert {g.name for g in app.registered_groups} == {"application", "identity", "keys", "order", "referral", "resource"}
