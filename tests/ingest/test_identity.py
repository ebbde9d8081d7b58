"""Identity resolution on the store, both engines: the two real cases, the review queue, decisions remembered."""

from __future__ import annotations

from pathlib import Path

from graph.model import NodeKind, RelKind
from graph.store import GraphStore
from ingest.identity import decide, pending_reviews, resolve_store
from ingest.loader import ingest_folder

DAUGHTER = "420203201307092421"
MISTYPED_RECORD = "YB-2023-007731"  # subsidised enrolment, one digit of her ID mistyped


def test_the_mistyped_record_resolves_to_the_daughter(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    assert store.run("unlinked_references").aid_records == [MISTYPED_RECORD]
    outcome = resolve_store(store)
    [link] = outcome.linked
    assert (link["record"], link["person"]) == (f"A:{MISTYPED_RECORD}", DAUGHTER) and link["score"] >= 0.9
    assert "ID number one digit apart" in link["evidence"]
    [edge] = [e for e in store.iter_edges(RelKind.RESOLVED_TO) if e.src_key == MISTYPED_RECORD]
    assert edge.dst_key == DAUGHTER and edge.props["score"] == link["score"]
    assert store.run("unlinked_references").aid_records == []
    view = store.run("household_view", household_id="H-420203-0001")
    resolved = next(a for a in view.aid_records if a.record["record_id"] == MISTYPED_RECORD)
    assert (resolved.beneficiary, resolved.link["match"]) == (DAUGHTER, "resolved")
    assert resolve_store(store).linked == []  # nothing left to link: a second run changes nothing


def test_unsure_pairs_wait_for_a_caseworker_and_decisions_are_remembered(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    # A strict threshold makes the typo an unsure case.
    outcome = resolve_store(store, accept=0.99999999)
    review = f"AidRecord:{MISTYPED_RECORD}|{DAUGHTER}"
    assert outcome.queued == [review] and outcome.linked == []
    assert [r["review_id"] for r in pending_reviews(store)] == [review]
    assert resolve_store(store, accept=0.99999999).queued == []  # asked once, not again
    decided = decide(store, review, status="rejected", by="caseworker 7", reason="a different girl of the same name")
    assert decided["decided_by"] == "caseworker 7" and decided["decided_at"]
    assert pending_reviews(store) == []
    again = resolve_store(store)  # even at the normal threshold, a rejected pair is never linked
    assert again.linked == [] and again.queued == []
    assert store.run("unlinked_references").aid_records == [MISTYPED_RECORD]
    history = store.history(NodeKind.IDENTITY_REVIEW, review)
    assert history and history[-1]["after"]["status"] == "rejected"


def test_a_confirmed_pair_is_linked(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    resolve_store(store, accept=0.99999999)
    decide(store, f"AidRecord:{MISTYPED_RECORD}|{DAUGHTER}", status="confirmed", by="caseworker 7")
    [edge] = [e for e in store.iter_edges(RelKind.RESOLVED_TO) if e.src_key == MISTYPED_RECORD]
    assert edge.dst_key == DAUGHTER and edge.props["by"] == "caseworker 7"
    assert store.run("unlinked_references").aid_records == []
