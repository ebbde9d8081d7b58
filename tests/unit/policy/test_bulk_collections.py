"""Whole-store evaluation and audit hold off full garbage collections; a household's evaluation does not."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

import policy.audit
import policy.means_test
from graph.store import bulk_load
from policy.audit import audit
from policy.config import load_policy
from policy.means_test import evaluate
from queries.examples import DAY, two_cases

HELD_OFF = 1000  # a full-collection threshold above this is bulk_load's


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[tuple[int, int, int]]:
    """Record the collector's thresholds each time ``module.name`` is called."""
    seen: list[tuple[int, int, int]] = []
    real = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.get_threshold())
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return seen


def test_a_whole_evaluation_holds_off_full_collections_and_restores_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    before = gc.get_threshold()
    seen = _spy(monkeypatch, policy.means_test, "means_test")
    decisions = evaluate(two_cases(), load_policy(), as_of=DAY).households
    assert len(seen) == len(decisions) == 2
    assert all(t[2] > HELD_OFF for t in seen)
    assert gc.get_threshold() == before


def test_the_evaluation_in_parts_holds_them_off_until_its_consumer_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    before = gc.get_threshold()
    seen = _spy(monkeypatch, policy.means_test, "means_test")
    parts = policy.means_test.evaluate_in_parts(two_cases(), load_policy(), as_of=DAY, slice_size=1)
    first = next(parts)
    assert len(first.households) == len(seen) == 1 and seen[0][2] > HELD_OFF
    assert gc.get_threshold()[2] > HELD_OFF  # the consumer works on the part with collections held off
    parts.close()  # and stops early
    assert gc.get_threshold() == before


def test_a_households_evaluation_leaves_the_collector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server evaluates one household per request; overlapping requests must not keep collections off.
    before = gc.get_threshold()
    seen = _spy(monkeypatch, policy.means_test, "means_test")
    evaluate(two_cases(), load_policy(), as_of=DAY, household_ids=["H-420203-0001"])
    assert seen == [before]


def test_the_audit_holds_off_full_collections_for_its_questions(monkeypatch: pytest.MonkeyPatch) -> None:
    before = gc.get_threshold()
    seen = _spy(monkeypatch, policy.audit, "duplicate_aid")
    missed = _spy(monkeypatch, policy.audit, "missed_aid")
    audit(two_cases(), as_of=DAY)
    assert seen and missed
    assert all(t[2] > HELD_OFF for t in [*seen, *missed])
    assert gc.get_threshold() == before


def test_nested_and_overlapping_uses_restore_the_thresholds_found_when_the_last_ends() -> None:
    before = gc.get_threshold()
    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with bulk_load():
            entered.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with bulk_load():
        thread.start()
        assert entered.wait(5)
        with bulk_load():
            pass
        assert gc.get_threshold()[2] > HELD_OFF
    assert gc.get_threshold()[2] > HELD_OFF  # the other thread's load is still running
    leave.set()
    thread.join(5)
    assert gc.get_threshold() == before


def test_a_failure_inside_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), bulk_load():
        raise RuntimeError("stop")
    assert gc.get_threshold() == before
