"""Rule 5 of duplicate aid (``queries.duplicate_aid``): households that each receive aid and are
joined by a phone or a bank account their members share (networkx finds the rings among the rows:
connected components); an identifier shared by more than ``generic_threshold`` households is
generic (a village office phone) and is listed, not trusted.
"""

from __future__ import annotations

from typing import Any, TypedDict

import networkx as nx

from queries.findings import Finding, finding_id, sort_findings
from queries.registry import question

__all__ = [
    "DEFAULT_GENERIC_THRESHOLD",
    "IDENTIFIER_COUNTS_CYPHER",
    "SHARED_IDENTIFIERS_CYPHER",
    "generic_identifiers",
    "shared_identifier_rings",
]

#: An identifier shared by more households than this is generic: discounted, not evidence.
DEFAULT_GENERIC_THRESHOLD = 8


# As in rule 2: the register is grouped by identifier first, households are looked up only for the
# identifiers two people share.
# One branch per identifier (a list indexed in Cypher counts from 0 on Neo4j and from 1 on
# LadybugDB). Each branch names its variables apart: LadybugDB 0.22 answered the second branch of
# a UNION ALL wrongly when both used the same names (400 households for one bank account shared by
# 3), and matched a household's members' records from every household when they were gathered in a
# second OPTIONAL MATCH after the household's own: one pattern gathers both.
def _shared_by_two(identifier: str) -> str:
    v = identifier[0]  # p_p, h_p for phones; p_b, h_b for bank accounts
    return f"""
MATCH (p_{v}:Person) WHERE p_{v}.{identifier} IS NOT NULL
WITH p_{v}.{identifier} AS value, collect(p_{v}) AS people_{v}
WHERE size(people_{v}) > 1
UNWIND people_{v} AS q_{v}
MATCH (q_{v})-[:MEMBER_OF]->(h_{v}:Household)
"""


_SHARED_IDENTIFIERS_BRANCH = """
WITH value, collect(DISTINCT h_{v}) AS households_{v}, collect(DISTINCT q_{v}.id_number) AS persons
WHERE size(households_{v}) > 1
UNWIND households_{v} AS g_{v}
OPTIONAL MATCH (g_{v})<-[:MEMBER_OF*0..1]-(b_{v})-[:RECEIVES]->(r_{v}:AidRecord)
WITH value, persons, g_{v}, collect(r_{v}.amount) AS aid_{v}
RETURN '{identifier}' AS kind, value, persons, collect({{household: g_{v}.household_id, region: g_{v}.region_code, aid: aid_{v}}}) AS households
"""

SHARED_IDENTIFIERS_CYPHER = "UNION ALL".join(
    _shared_by_two(i) + _SHARED_IDENTIFIERS_BRANCH.format(identifier=i, v=i[0]) for i in ("phone", "bank_account")
)


def _ring_findings(rows: list[dict[str, Any]], generic_threshold: int = DEFAULT_GENERIC_THRESHOLD, **_: Any) -> list[Finding]:
    graph = nx.Graph()
    info: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["kind"], r["value"])):
        row = {**row, "persons": sorted(row["persons"])}
        if len(row["households"]) > generic_threshold:
            continue  # generic: shared by too many households to say anything about them
        aided = [h for h in row["households"] if h["aid"]]
        for h in aided:
            info[h["household"]] = h
        ident = f"{row['kind']}:{row['value']}"
        for h in aided:
            graph.add_edge(("household", h["household"]), ("identifier", ident), persons=row["persons"])
    findings = []
    for component in nx.connected_components(graph):
        households = sorted(k for t, k in component if t == "household")
        if len(households) < 2:
            continue
        identifiers = sorted(k for t, k in component if t == "identifier")
        # Weight: an identifier shared by fewer households says more.
        weight = sum(1 / (graph.degree(("identifier", i)) - 1) for i in identifiers if graph.degree(("identifier", i)) > 1)
        persons = sorted({p for i in identifiers for _, _, d in graph.edges(("identifier", i), data=True) for p in d["persons"]})
        findings.append(
            Finding(
                id=finding_id("shared_identifier_ring", households),
                kind="shared_identifier_ring",
                rule=f"households that each receive aid share identifiers (generic ones, shared by more than {generic_threshold} households, discounted)",
                persons=persons,
                households=households,
                records=[],
                region_code=info[households[0]]["region"],
                amount_at_stake=round(sum(sum(info[h]["aid"]) for h in households), 2),
                evidence={"identifiers": identifiers, "weight": round(weight, 3)},
            )
        )
    return sort_findings(findings)


class DupSharedIdentifiersRow(TypedDict):
    kind: str
    value: str
    persons: list[str]
    households: list[dict[str, Any]]


@question("dup_shared_identifiers", cypher=SHARED_IDENTIFIERS_CYPHER, row=DupSharedIdentifiersRow, from_records=_ring_findings)
def shared_identifier_rings(store: Any, generic_threshold: int = DEFAULT_GENERIC_THRESHOLD) -> list[Finding]:
    """Rule 5 (see the module docstring).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> shared_identifier_rings(two_cases())  # the two phones belong to one person each
    []
    """


def generic_identifiers(store: Any, threshold: int = DEFAULT_GENERIC_THRESHOLD) -> list[dict[str, Any]]:
    """Identifiers shared by more than ``threshold`` households: listed so an auditor sees them.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> generic_identifiers(two_cases(), threshold=0)  # no identifier is shared at all
    []
    """
    rows = identifier_counts(store)
    return [r for r in rows if r["households"] > threshold]


IDENTIFIER_COUNTS_CYPHER = "UNION ALL".join(
    _shared_by_two(i)
    + f"""
WITH value, count(DISTINCT h_{i[0]}) AS households
WHERE households > 1
RETURN '{i}' AS kind, value, households
"""
    for i in ("phone", "bank_account")
)


def _by_households(rows: list[dict[str, Any]], **_: Any) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["households"], r["kind"], r["value"]))


class DupIdentifierCountsRow(TypedDict):
    kind: str
    value: str
    households: int


@question("dup_identifier_counts", cypher=IDENTIFIER_COUNTS_CYPHER, row=DupIdentifierCountsRow, from_records=_by_households)
def identifier_counts(store: Any) -> list[dict[str, Any]]:
    """Identifiers shared by two households or more, most shared first.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> identifier_counts(two_cases())
    []
    """
