"""Identity resolution on the store, both engines: the two real cases, the review queue, decisions remembered."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.model import NodeKind, RelKind
from graph.store import GraphStore
from ingest.identity import decide, pending_reviews, resolve_store, review_id
from ingest.loader import ingest_folder
from queries.household import household_view
from queries.unlinked import unlinked_references

DAUGHTER = "420203201307092421"
MISTYPED_RECORD = "YB-2023-007731"  # subsidised enrolment, one digit of her ID mistyped


def test_the_mistyped_record_resolves_to_the_daughter(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    assert unlinked_references(store).aid_records == [MISTYPED_RECORD]
    outcome = resolve_store(store)
    [link] = outcome.linked
    assert (link["record"], link["person"]) == (f"A:{MISTYPED_RECORD}", DAUGHTER) and link["score"] >= 0.9
    assert "ID number one digit apart" in link["evidence"]
    [edge] = [e for e in store.iter_edges(RelKind.RESOLVED_TO) if e.src_key == MISTYPED_RECORD]
    assert edge.dst_key == DAUGHTER and edge.props["score"] == link["score"]
    assert unlinked_references(store).aid_records == []
    view = household_view(store, household_id="H-420203-0001")
    resolved = next(a for a in view.aid_records if a.record["record_id"] == MISTYPED_RECORD)
    assert (resolved.beneficiary, resolved.link["match"]) == (DAUGHTER, "resolved")
    assert resolve_store(store).linked == []  # nothing left to link: a second run changes nothing


def test_unsure_pairs_wait_for_a_caseworker_and_decisions_are_remembered(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    # A strict threshold makes the typo an unsure case.
    outcome = resolve_store(store, accept=0.99999999)
    review = review_id(NodeKind.AID_RECORD, MISTYPED_RECORD, DAUGHTER)
    assert outcome.queued == [review] and outcome.linked == []
    assert [r["review_id"] for r in pending_reviews(store)] == [review]
    assert resolve_store(store, accept=0.99999999).queued == []  # asked once, not again
    decided = decide(store, review, status="rejected", by="caseworker 7", reason="a different girl of the same name")
    assert decided["decided_by"] == "caseworker 7" and decided["decided_at"]
    assert pending_reviews(store) == []
    again = resolve_store(store)  # even at the normal threshold, a rejected pair is never linked
    assert again.linked == [] and again.queued == []
    assert unlinked_references(store).aid_records == [MISTYPED_RECORD]
    history = store.history(NodeKind.IDENTITY_REVIEW, review)
    assert history and history[-1]["after"]["status"] == "rejected"


def test_a_confirmed_pair_is_linked(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    resolve_store(store, accept=0.99999999)
    decide(store, review_id(NodeKind.AID_RECORD, MISTYPED_RECORD, DAUGHTER), status="confirmed", by="caseworker 7")
    [edge] = [e for e in store.iter_edges(RelKind.RESOLVED_TO) if e.src_key == MISTYPED_RECORD]
    assert edge.dst_key == DAUGHTER and edge.props["by"] == "caseworker 7"
    assert unlinked_references(store).aid_records == []
    # Confirming again changes nothing; rejecting a pair already confirmed and linked is refused.
    review = review_id(NodeKind.AID_RECORD, MISTYPED_RECORD, DAUGHTER)
    assert decide(store, review, status="confirmed", by="auditor 2")["decided_by"] == "caseworker 7"
    with pytest.raises(ValueError, match="was confirmed by caseworker 7"):
        decide(store, review, status="rejected", by="auditor 2")
    assert [e.dst_key for e in store.iter_edges(RelKind.RESOLVED_TO) if e.src_key == MISTYPED_RECORD] == [DAUGHTER]


def test_the_review_queue_from_the_command_line(tmp_path: Path, two_cases_dir: Path) -> None:
    import json

    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    store = ["--store", str(tmp_path / "store")]
    assert runner.invoke(app, ["ingest", str(two_cases_dir), *store]).exit_code == 0
    queued = runner.invoke(app, ["identity", "resolve", "--accept", "0.99999999", *store])
    assert queued.exit_code == 0 and "0 linked, 1 queued for review" in queued.stdout
    [pending] = json.loads(runner.invoke(app, ["identity", "review", "--json", *store]).stdout)
    review = review_id(NodeKind.AID_RECORD, MISTYPED_RECORD, DAUGHTER)
    assert pending["review_id"] == review and pending["person"] == "420203********2421"
    review = review_id(NodeKind.AID_RECORD, MISTYPED_RECORD, DAUGHTER)
    rejected = runner.invoke(app, ["identity", "reject", review, "--by", "caseworker 7", "--reason", "another girl", *store])
    assert rejected.exit_code == 0
    again = runner.invoke(app, ["identity", "resolve", *store])  # a new run (a new process would read the same store)
    assert "0 linked, 0 queued for review" in again.stdout
    assert json.loads(runner.invoke(app, ["identity", "review", "--json", *store]).stdout) == []
    unknown = runner.invoke(app, ["identity", "confirm", "IR-000000000000", "--by", "x", *store])
    assert unknown.exit_code == 1 and "no identity review" in unknown.output
