"""The audit report: every duplicate-aid and missed-aid finding, with auditors' marks, a summary by
kind and county, and the generic identifiers the ring rule discounted.

>>> from graph.stores.ladybug import LadybugStore
>>> audit(LadybugStore.in_memory(), as_of=dt.date(2026, 6, 30)).summary
[]
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from pydantic import BaseModel

from graph.model import NodeKind
from graph.regions import STRUCTURAL, RegionTree
from graph.store import GraphStore, bulk_load
from policy.config import PolicyConfig, load_policy
from policy.missed_aid import missed_aid
from policy.service_findings import SERVICE_KINDS, service_findings
from queries.duplicate_aid import duplicate_aid
from queries.findings import Finding
from queries.regions import region_tree
from queries.shared_identifiers import DEFAULT_GENERIC_THRESHOLD, generic_identifiers
from queries.standing import StandingRules

__all__ = ["FAMILIES", "AuditFinding", "AuditReport", "SummaryRow", "audit", "finding_in_region", "summarize"]

DUPLICATE_KINDS = (
    "exclusive_overlap",
    "person_in_two_households",
    "need_paid_twice",
    "delivered_twice",
    "enrolled_twice",
    "shared_identifier_ring",
)
MISSED_KINDS = (
    "eligible_not_enrolled",
    "aid_ended_reason_persists",
    "cliff_effect",
    "unserved_need",
    "wrongly_enrolled",
    "paid_after_death",
)

#: The audit's families and the kinds in each, in the order reports list them.
FAMILIES = {"duplicate_aid": DUPLICATE_KINDS, "missed_aid": MISSED_KINDS, "service": SERVICE_KINDS}


class AuditFinding(Finding):
    family: str  # "duplicate_aid", "missed_aid" or "service"
    mark: dict[str, Any] | None = None  # the auditor's mark, if any


class SummaryRow(BaseModel):
    family: str
    kind: str
    county: str | None
    findings: int
    amount_at_stake: float
    confirmed: int
    dismissed: int


class AuditReport(BaseModel):
    as_of: str
    region: str | None
    findings: list[AuditFinding]
    summary: list[SummaryRow]
    generic_identifiers: list[dict[str, Any]]


def finding_in_region(finding: Finding, region: str | None, tree: RegionTree = STRUCTURAL) -> bool:
    """The finding touches ``region``: one of its households lies there by the region tree (a
    finding belongs to every region it touches, so each of their caseworkers and auditors sees it).

    Examples
    --------
    >>> f = Finding(id="F", kind="wrongly_enrolled", rule="", persons=[], households=["H-420203-0001"], records=[],
    ...             region_code="420203100201", region_codes=["420203100201"])
    >>> finding_in_region(f, "420203"), finding_in_region(f, "420106"), finding_in_region(f, None)
    (True, False, True)
    """
    return tree.any_within(region, finding.region_codes or [finding.region_code])


def _with_regions(store: GraphStore, findings: list[Finding]) -> list[Finding]:
    households = store.get_nodes(NodeKind.HOUSEHOLD, {h for f in findings for h in f.households})
    for f in findings:
        codes = {households.get(h, {}).get("region_code") for h in f.households} | {f.region_code}
        f.region_codes = sorted(c for c in codes if c)
    return findings


def summarize(findings: list[AuditFinding]) -> list[SummaryRow]:
    """Counts and amounts by family, kind and county (the first 6 digits of the region code).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> [(s.kind, s.county, s.findings, s.amount_at_stake) for s in summarize(audit(two_cases(), as_of=DAY).findings)]
    [('wrongly_enrolled', '420203', 1, 1050.0)]
    """
    groups: dict[tuple[str, str, str | None], list[AuditFinding]] = defaultdict(list)
    for f in findings:
        groups[(f.family, f.kind, (f.region_code or "")[:6] or None)].append(f)
    return [
        SummaryRow(
            family=family,
            kind=kind,
            county=county,
            findings=len(fs),
            amount_at_stake=round(sum(f.amount_at_stake for f in fs), 2),
            confirmed=sum(1 for f in fs if (f.mark or {}).get("status") == "confirmed"),
            dismissed=sum(1 for f in fs if (f.mark or {}).get("status") == "dismissed"),
        )
        for (family, kind, county), fs in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or ""))
    ]


def audit(
    store: GraphStore,
    *,
    as_of: dt.date | None = None,
    region: str | None = None,
    generic_threshold: int = DEFAULT_GENERIC_THRESHOLD,
    policy: PolicyConfig | None = None,
    standing_rules: StandingRules | None = None,
) -> AuditReport:
    """Run every audit question by ``policy`` (default: the shipped one) and the service findings
    with bars judged by ``standing_rules`` (default: the shipped catalogue's); keep the findings in
    ``region`` (a region and everything in it, by the region tree).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> [(f.kind, f.households) for f in audit(two_cases(), as_of=DAY).findings]  # 1,000 a head, above 666: 低保 ought to end
    [('wrongly_enrolled', ['H-420203-0001'])]
    """
    # Every question reads the whole store: millions of rows, findings and decisions at 1M people.
    with bulk_load():
        policy = policy or load_policy()
        day = as_of or dt.date.today()
        tree = region_tree(store) if region is not None else STRUCTURAL
        marks = {m.key: m.props for m in store.iter_nodes(NodeKind.FINDING_MARK)}
        findings = [
            AuditFinding(**f.model_dump(), family=family, mark=marks.get(f.id))
            for family, found in (
                (
                    "duplicate_aid",
                    _with_regions(
                        store, duplicate_aid(store, generic_threshold=generic_threshold, repeatable=policy.repeatable_programs())
                    ),
                ),
                ("missed_aid", _with_regions(store, missed_aid(store, as_of=day, policy=policy))),
                ("service", _with_regions(store, service_findings(store, as_of=day, rules=standing_rules))),
            )
            for f in found
            if finding_in_region(f, region, tree)
        ]
        return AuditReport(
            as_of=day.isoformat(),
            region=region,
            findings=findings,
            summary=summarize(findings),
            generic_identifiers=generic_identifiers(store, generic_threshold),
        )
