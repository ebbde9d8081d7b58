"""Identity resolution on the store: department records that matched nobody exactly, linked to
register persons with a score, or queued for a caseworker.

``resolve_store`` takes the register (persons with ``in_register``) and the department references
that the ingest could not link on an exact ID (aid records to a person, incomes), resolves them
together (``ingest.resolve``), and for each record:

- one register person in its cluster, at or above ``accept``: linked. The record gets a
  RESOLVED_TO relationship to the person carrying the score and the evidence, and the person gets
  the RECEIVES (aid) or HAS_INCOME (income) relationship the audit and the household view read,
  with ``match: "resolved"`` and the score;
- a register person between ``review`` and ``accept``, or more than one person: an IdentityReview
  node, pending, for a caseworker (``aidgraph identity review|confirm|reject``). A confirmed pair
  is linked at the next run and a rejected one is never linked or asked again; the decision keeps
  who and when (and every change is in the node's history).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.model import IdentityReview, NodeKind, RelKind
from graph.store import EdgeWrite, GraphStore, NodeWrite, WriteBatch
from ingest.resolve import resolve
from queries.unlinked import unlinked_references

__all__ = ["StoreResolution", "decide", "pending_reviews", "resolve_store", "review_id"]

_PREFIX = {"P": NodeKind.PERSON, "A": NodeKind.AID_RECORD, "I": NodeKind.INCOME}


@dataclass
class StoreResolution:
    linked: list[dict[str, Any]] = field(default_factory=list)  # record, person, score, evidence
    queued: list[str] = field(default_factory=list)  # review ids now pending
    unresolved: list[str] = field(default_factory=list)  # records with no register person at all


def review_id(kind: NodeKind, key: str, person: str) -> str:
    """A short id for a (record, person) pair that holds no ID number: it appears in URLs and logs.

    >>> review_id(NodeKind.AID_RECORD, "YB-1", "420203201307092421")
    'IR-28cdc1-ca94b7'
    """
    digest = hashlib.sha256(f"{kind.value}:{key}|{person}".encode()).hexdigest()
    return f"IR-{digest[:6]}-{digest[6:12]}"  # split: never an 11-digit run for a masker


def _records(store: GraphStore) -> list[dict[str, Any]]:
    rows = []
    for p in store.iter_nodes(NodeKind.PERSON):
        if p.props.get("in_register", True):
            rows.append(
                {
                    "record_id": "P:" + p.key,
                    "name": p.props.get("name"),
                    "id_number": p.key,
                    "birth_date": p.props.get("birth_date"),
                    "sex": p.props.get("sex"),
                    "phone": p.props.get("phone"),
                }
            )
    unlinked = unlinked_references(store)
    for key, a in sorted(store.get_nodes(NodeKind.AID_RECORD, unlinked.aid_records).items()):
        if a.get("beneficiary_type") == "person":
            rows.append(
                {
                    "record_id": "A:" + key,
                    "name": a.get("beneficiary_name"),
                    "id_number": a.get("beneficiary_ref"),
                    "birth_date": a.get("beneficiary_birth_date"),
                    "source": a.get("source_department"),
                }
            )
    for key, i in sorted(store.get_nodes(NodeKind.INCOME, unlinked.incomes).items()):
        rows.append({"record_id": "I:" + key, "id_number": i.get("id_number"), "source": i.get("source_department")})
    return rows


def _link(batch: WriteBatch, kind: NodeKind, key: str, person: str, score: float, evidence: list[str], by: str) -> None:
    batch.edges.append(EdgeWrite(RelKind.RESOLVED_TO, kind, key, NodeKind.PERSON, person, {"score": score, "evidence": evidence, "by": by}))
    rel = RelKind.RECEIVES if kind is NodeKind.AID_RECORD else RelKind.HAS_INCOME
    batch.edges.append(EdgeWrite(rel, NodeKind.PERSON, person, kind, key, {"match": "resolved", "score": score}))


def resolve_store(
    store: GraphStore, *, accept: float = 0.9, review: float = 0.5, progress: Callable[[str], None] | None = None
) -> StoreResolution:
    """Link what can be linked, queue what a caseworker must decide; one batch.

    DuckDB works beside an embedded store's files (a temporary folder for Neo4j) and is removed after.
    """
    rows = _records(store)
    outcome = StoreResolution()
    if not any(r["record_id"][0] in "AI" for r in rows):
        return outcome
    folder = getattr(store, "path", None)
    workdir = folder if isinstance(folder, Path) and folder.is_dir() else None
    result = resolve(rows, accept=accept, review=review, workdir=workdir, progress=progress)
    decisions = {r.key: r.props for r in store.iter_nodes(NodeKind.IDENTITY_REVIEW)}
    cluster_of = {c.record_id: c.cluster_id for c in result.clusters}
    members: dict[str, list[str]] = {}
    for rid, cid in cluster_of.items():
        members.setdefault(cid, []).append(rid)
    best: dict[tuple[str, str], Any] = {}
    register_neighbours: dict[str, set[str]] = {}  # record -> the register persons it was compared with
    for p in result.pairs:
        best[(p.a, p.b)] = best[(p.b, p.a)] = p
        for mine, other in ((p.a, p.b), (p.b, p.a)):
            if other.startswith("P:"):
                register_neighbours.setdefault(mine, set()).add(other)
    batch = WriteBatch(source="identity resolution")
    for rid in sorted(r["record_id"] for r in rows if r["record_id"][0] in "AI"):
        kind, key = _PREFIX[rid[0]], rid[2:]
        persons = [m for m in members[cluster_of[rid]] if m.startswith("P:")]
        candidates = sorted(register_neighbours.get(rid, ()))
        done = False
        for person_rid in candidates:  # decisions first: confirmed pairs link, rejected never do
            decision = decisions.get(review_id(kind, key, person_rid[2:]))
            if decision and decision["status"] == "confirmed":
                pair = best[(rid, person_rid)]
                _link(batch, kind, key, person_rid[2:], pair.probability, pair.evidence, decision.get("decided_by") or "caseworker")
                outcome.linked.append({"record": rid, "person": person_rid[2:], "score": pair.probability, "evidence": pair.evidence})
                done = True
                break
        if done:
            continue
        rejected = {p for p in candidates if (decisions.get(review_id(kind, key, p[2:])) or {}).get("status") == "rejected"}
        persons = [p for p in persons if p not in rejected]
        if len(persons) == 1 and (rid, persons[0]) in best:
            pair = best[(rid, persons[0])]
            _link(batch, kind, key, persons[0][2:], pair.probability, pair.evidence, "resolution")
            outcome.linked.append({"record": rid, "person": persons[0][2:], "score": pair.probability, "evidence": pair.evidence})
            continue
        unsure = [p for p in candidates if p not in rejected and best[(rid, p)].probability >= review]
        if not unsure:
            outcome.unresolved.append(rid)
            continue
        for person_rid in unsure:
            rev = review_id(kind, key, person_rid[2:])
            if rev in decisions:  # asked already: pending stays pending, decided is never asked again
                continue
            pair = best[(rid, person_rid)]
            node = IdentityReview(
                review_id=rev,
                record_kind=kind.value,
                record_key=key,
                person=person_rid[2:],
                probability=pair.probability,
                evidence=pair.evidence,
            )
            batch.nodes.append(NodeWrite(NodeKind.IDENTITY_REVIEW, rev, node.props()))
            outcome.queued.append(rev)
    store.write_batch(batch)
    return outcome


def pending_reviews(store: GraphStore) -> list[dict[str, Any]]:
    return sorted(
        (r.props for r in store.iter_nodes(NodeKind.IDENTITY_REVIEW) if r.props.get("status") == "pending"),
        key=lambda r: (-r["probability"], r["review_id"]),
    )


def decide(store: GraphStore, review: str, *, status: str, by: str, reason: str | None = None) -> dict[str, Any]:
    """Confirm or reject a pending pair; a confirmed pair is linked at once.

    Deciding again the same way changes nothing; deciding the other way is refused
    (ValueError): a pair confirmed and linked by one auditor is not silently rejected by another.
    """
    if status not in ("confirmed", "rejected"):
        raise ValueError("status must be confirmed or rejected")
    with store.exclusive():
        return _decide(store, review, status=status, by=by, reason=reason)


def _decide(store: GraphStore, review: str, *, status: str, by: str, reason: str | None) -> dict[str, Any]:
    node = store.get_node(NodeKind.IDENTITY_REVIEW, review)
    if node is None:
        raise KeyError(f"no identity review {review}")
    if node.get("status", "pending") != "pending":
        if node["status"] == status:
            return node
        raise ValueError(f"{review} was {node['status']} by {node.get('decided_by')} at {node.get('decided_at')}")
    decided = {
        **node,
        "status": status,
        "decided_by": by,
        "decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "reason": reason,
    }
    batch = WriteBatch(
        nodes=[NodeWrite(NodeKind.IDENTITY_REVIEW, review, IdentityReview(**decided).props())], source=f"identity {status} by {by}"
    )
    if status == "confirmed":
        _link(batch, NodeKind(node["record_kind"]), node["record_key"], node["person"], node["probability"], node.get("evidence", []), by)
    store.write_batch(batch)
    return decided
