"""Resource linkage: which charity, volunteer or service organisation should reach which family.

- :func:`unmatched_families`: households with needs nobody serves, most urgent first (for a
  coordinator, only the needs their organisation can meet, in the regions it serves);
- :func:`recommend`: for one household, the ranked resources for each unserved need, with the
  reasons behind each score;
- :func:`allocate`: one assignment for all unserved needs at once that respects every resource's
  capacity and maximises the urgency-weighted need met (min-cost flow), beside the greedy
  first-come ranking it improves on;
- :func:`accept` / :func:`decline`: the coordinator's answer. An accepted match becomes a Service
  (PROVIDES, SERVES, FOR_NEED), so the resource's capacity drops and the need is served; a declined
  one is never recommended again for that need. Both are LinkDecision nodes, with history.

Everything is built on registered questions (``household_view``, ``missed_unserved_needs``,
``linkage_resources``), so both engines give the same answers.

Eligibility: the resource serves the need's category, its region contains the household's (by the
region tree, ``graph.regions``), it has capacity left, it is not barred (an evaluation found its
satisfaction under 0.5 in the last 3 years: ``queries.standing``), it does not already serve the
need, and it was not declined for it.
Score (0 to 1): 0.4 proximity (same village 1.0, township 0.75, county 0.5, city 0.33) + 0.25
satisfaction (from its feedback over the last year, ``queries.standing``; 0.7 if unknown) + 0.2 share of capacity left + 0.1 served this family before + 0.05
skill or language fit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

import networkx as nx
from pydantic import BaseModel

from graph.model import NodeKind
from graph.regions import STRUCTURAL, RegionTree, short_code
from graph.store import GraphStore
from queries import reasons as words
from queries.household_chain import unserved_in_view
from queries.regions import region_tree
from queries.registry import question
from queries.standing import StandingRules, resource_feedback, standing
from queries.unserved_needs import unserved_needs

__all__ = [
    "LINKAGE_RESOURCES_CYPHER",
    "URGENCY_WEIGHT",
    "Allocation",
    "Candidate",
    "Recommendation",
    "UnmatchedFamily",
    "allocate",
    "proposals",
    "recommend",
    "standing_resources",
    "unmatched_families",
]

URGENCY_WEIGHT = {"urgent_intervention": 8, "safety_net": 4, "needs_care": 2, "keep_watching": 1}
_URGENCY_RANK = {u: i for i, u in enumerate(URGENCY_WEIGHT)}
_SKILL_WORDS = {
    "schooling": ("tutor", "辅导", "math", "english"),
    "psychological": ("counsel", "心理", "psycholog"),
    "care": ("visit", "探访", "care", "陪伴"),
    "employment": ("job", "就业", "skill"),
}


class Candidate(BaseModel):
    resource_id: str
    provider_name: str | None
    provider_type: str
    score: float
    reasons: list[str]


class NeedRecommendation(BaseModel):
    need_id: str
    category: str
    urgency: str
    candidates: list[Candidate]
    excluded: list[dict[str, str]]  # resource id and why it is not recommended


class Recommendation(BaseModel):
    household_id: str
    region_code: str
    needs: list[NeedRecommendation]
    referral_level: str


class UnmatchedFamily(BaseModel):
    household_id: str
    region_code: str | None
    needs: list[dict[str, Any]]  # need_id, category, urgency, raised_on
    most_urgent: str


class Allocation(BaseModel):
    assignments: list[dict[str, Any]]  # need_id, household_id, resource_id, urgency, score
    unmet: list[str]
    weighted_met: int
    greedy_assignments: list[dict[str, Any]]
    greedy_weighted_met: int
    weighted_total: int


LINKAGE_RESOURCES_CYPHER = """
MATCH (r:Resource)
WHERE $everywhere OR r.region_code IN $region_codes
OPTIONAL MATCH (r)-[:PROVIDES]->(s:Service)
OPTIONAL MATCH (s)-[:SERVES]->(h:Household)
OPTIONAL MATCH (s)-[:FOR_NEED]->(n:Need)
RETURN r AS resource, collect({service: s.service_id, until: s.`end`, household: h.household_id, need: n.need_id}) AS services
"""


def _region_params(params: dict[str, Any]) -> dict[str, Any]:
    """``region_codes`` None (everywhere) as a flag: a parameter that is sometimes null has no type on LadybugDB."""
    return {"everywhere": params["region_codes"] is None, "region_codes": list(params["region_codes"] or [])}


def _resource_rows(rows: list[dict[str, Any]], as_of: str, **_: Any) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        services = [s for s in row["services"] if s["service"] is not None]
        active = [s for s in services if (s["until"] or "9999-12-31") >= as_of]
        out.append(
            {
                "resource": row["resource"],
                "used": len({s["service"] for s in active}),
                "households": sorted({s["household"] for s in services if s["household"] is not None}),
                "needs": sorted({s["need"] for s in active if s["need"] is not None}),
                "active_services": sorted({s["service"] for s in active}),
                "active_households": sorted({s["household"] for s in active if s["household"] is not None}),
            }
        )
    return sorted(out, key=lambda r: r["resource"]["resource_id"])


class LinkageResourcesRow(TypedDict):
    resource: dict[str, Any]
    services: list[dict[str, Any]]


@question(
    "linkage_resources", cypher=LINKAGE_RESOURCES_CYPHER, row=LinkageResourcesRow, from_records=_resource_rows, cypher_params=_region_params
)
def linkage_resources(store: Any, as_of: str, region_codes: list[str] | None = None) -> list[dict[str, Any]]:
    """Every resource (or those whose region is one of ``region_codes``: ``RegionTree.ancestor_codes``
    gives the regions containing a place) with its capacity in use on ``as_of``, the households it
    ever served, the needs it serves now, and its services and households active on ``as_of``.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> [(r["resource"]["resource_id"], r["resource"]["capacity"], r["used"]) for r in linkage_resources(two_cases(), as_of="2026-06-30")]
    [('R-S1', 30, 0), ('R-V1', 2, 1), ('R-V2', 2, 1)]
    """


def _proximity(resource_region: str, household_region: str, tree: RegionTree) -> float:
    """1 for a village's own resource, 0.75 a township's, 0.5 a county's, 0.33 a city's or province's."""
    if not tree.contains(resource_region, household_region):
        return 0.0
    return {12: 1.0, 9: 0.75, 6: 0.5}.get(len(short_code(resource_region)), 0.33)


def standing_resources(
    store: Any, day: dt.date, region_codes: list[str] | None, rules: StandingRules | None = None
) -> list[dict[str, Any]]:
    """:func:`linkage_resources` on ``day``, each row with its ``standing`` (``queries.standing``) by ``rules``.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> [(r["resource"]["resource_id"], r["standing"].satisfaction, r["standing"].source) for r in standing_resources(two_cases(), DAY, None)]
    [('R-S1', 0.91, 'declared'), ('R-V1', 0.96, 'declared'), ('R-V2', 0.93, 'declared')]
    """
    rows = linkage_resources(store, as_of=day.isoformat(), region_codes=region_codes)
    feedback = resource_feedback(store) if rows else {}
    for row in rows:
        row["standing"] = standing(row["resource"], feedback.get(row["resource"]["resource_id"]), day, rules or StandingRules())
    return rows


def _judge(
    need: dict[str, Any], household_id: str, region: str, row: dict[str, Any], declined: set[tuple[str, str]], tree: RegionTree
) -> tuple[float | None, list[str]]:
    """(score, reasons) of one resource for one need; score None means excluded, reasons say why."""
    r = row["resource"]
    if need["category"] not in r.get("categories", []):
        return None, ["does not serve this category"]
    if not tree.contains(r["region_code"], region):
        return None, [f"serves region {r['region_code']}, not the household's"]
    if need["need_id"] in row["needs"]:
        return None, ["already serves this need (no duplicate aid)"]
    if (need["need_id"], r["resource_id"]) in declined:
        return None, ["declined for this need"]
    if row["standing"].barred:
        return None, [row["standing"].why]
    satisfaction = row["standing"].satisfaction
    left = r["capacity"] - row["used"]
    if left <= 0:
        return None, ["no capacity left"]
    proximity = _proximity(r["region_code"], region, tree)
    sat = 0.7 if satisfaction is None else satisfaction
    share = left / r["capacity"] if r["capacity"] else 0.0
    before = household_id in row["households"]
    skills = (r.get("skills") or "").lower()
    fit = any(w in skills for w in _SKILL_WORDS.get(need["category"], ()))
    score = 0.4 * proximity + 0.25 * sat + 0.2 * share + 0.1 * before + 0.05 * fit
    why = [
        words.SERVES.format(category=need["category"]),
        words.PROXIMITY.format(level=words.PROXIMITY_LEVELS[proximity], proximity=proximity),
        words.SATISFACTION.format(value=sat),
        words.CAPACITY.format(left=left, capacity=r["capacity"]),
    ]
    if before:
        why.append(words.SERVED_BEFORE)
    if fit:
        why.append(words.SKILLS_FIT)
    return round(score, 4), why


def recommend(
    store: GraphStore, household_id: str, *, as_of: dt.date | None = None, top: int = 5, rules: StandingRules | None = None
) -> Recommendation | None:
    """The ranked resources for each unserved need of ``household_id`` (None if unknown).

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> recommend(LadybugStore.in_memory(), "H-none") is None
    True
    """
    from queries.household_chain import household_chain

    day = as_of or dt.date.today()
    chain = household_chain(store, household_id, as_of=day)
    if chain is None:
        return None
    view = chain.view
    region = view.household["region_code"]
    unserved = {n for n, _ in unserved_in_view(view, day)}
    needs = [n.need for n in view.needs if n.need["need_id"] in unserved]
    # Most households have no unserved need: then there is nothing to rank.
    tree = region_tree(store)
    resources = standing_resources(store, day, tree.ancestor_codes(region), rules) if needs else []
    declined = _declined(store, needs, resources)
    out_needs = []
    for need in needs:
        candidates, excluded = [], []
        for row in resources:
            score, reasons = _judge(need, household_id, region, row, declined, tree)
            r = row["resource"]
            if score is None:
                if need["category"] in r.get("categories", []) and tree.contains(r["region_code"], region):
                    excluded.append({"resource_id": r["resource_id"], "why": reasons[0]})
                continue
            candidates.append(
                Candidate(
                    resource_id=r["resource_id"],
                    provider_name=r.get("provider_name"),
                    provider_type=r["provider_type"],
                    score=score,
                    reasons=reasons,
                )
            )
        candidates.sort(key=lambda c: (-c.score, c.resource_id))
        out_needs.append(
            NeedRecommendation(
                need_id=need["need_id"],
                category=need["category"],
                urgency=need["urgency"],
                candidates=candidates[:top],
                excluded=sorted(excluded, key=lambda e: e["resource_id"]),
            )
        )
    out_needs.sort(key=lambda n: (_URGENCY_RANK.get(n.urgency, 9), n.need_id))
    return Recommendation(household_id=household_id, region_code=region, needs=out_needs, referral_level=chain.referral_level)


def _declined(store: GraphStore, needs: list[dict[str, Any]], resources: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The (need, resource) pairs a coordinator declined, among these needs and resources."""
    keys = [f"{n['need_id']}|{r['resource']['resource_id']}" for n in needs for r in resources]
    decisions = store.get_nodes(NodeKind.LINK_DECISION, keys).values()
    return {(d["need_id"], d["resource_id"]) for d in decisions if d["decision"] == "declined"}


def _unmatched_needs(store: GraphStore, day: dt.date) -> list[dict[str, Any]]:
    findings = unserved_needs(store, as_of=day.isoformat())
    return [
        {
            "need_id": f.needs[0],
            "household_id": f.households[0],
            "region_code": f.region_code,
            "category": f.evidence["category"],
            "urgency": f.evidence["urgency"],
            "raised_on": f.evidence["raised_on"],
        }
        for f in findings
    ]


def unmatched_families(store: GraphStore, *, as_of: dt.date | None = None, org: str | None = None) -> list[UnmatchedFamily]:
    """Households with needs nobody serves, most urgent first, then longest waiting.

    With ``org`` (a resource id), only the needs that resource can meet, in the regions it serves.
    The hardship index of the policy engine will refine this order once it lands.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> unmatched_families(two_cases(), as_of=DAY)  # every need of the two families is served
    []
    """
    day = as_of or dt.date.today()
    needs = _unmatched_needs(store, day)
    if org is not None:
        resource = store.get_node(NodeKind.RESOURCE, org)
        if resource is None:
            raise KeyError(f"no resource {org}")
        tree = region_tree(store)
        needs = [n for n in needs if n["category"] in resource["categories"] and tree.contains(resource["region_code"], n["region_code"])]
    families: dict[str, UnmatchedFamily] = {}
    for n in needs:
        fam = families.setdefault(
            n["household_id"],
            UnmatchedFamily(household_id=n["household_id"], region_code=n["region_code"], needs=[], most_urgent=n["urgency"]),
        )
        fam.needs.append({k: n[k] for k in ("need_id", "category", "urgency", "raised_on")})
        if _URGENCY_RANK[n["urgency"]] < _URGENCY_RANK[fam.most_urgent]:
            fam.most_urgent = n["urgency"]
    for fam in families.values():
        fam.needs.sort(key=lambda n: (_URGENCY_RANK[n["urgency"]], n["raised_on"], n["need_id"]))
    return sorted(families.values(), key=lambda f: (_URGENCY_RANK[f.most_urgent], min(n["raised_on"] for n in f.needs), f.household_id))


def allocate(
    store: GraphStore, *, as_of: dt.date | None = None, region: str | None = None, rules: StandingRules | None = None
) -> Allocation:
    """Assign unserved needs to resources all at once, maximising urgency-weighted need met.

    A min-cost flow: source → each need (1) → each eligible resource (cost: minus urgency weight,
    with the score breaking ties) → sink (capacity left); every need may also go unmet at no cost.
    The greedy baseline serves needs first come first served, each with its best-scored resource.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> plan = allocate(two_cases(), as_of=DAY)
    >>> plan.assignments, plan.unmet
    ([], [])
    """
    day = as_of or dt.date.today()
    tree = region_tree(store)
    needs = [n for n in _unmatched_needs(store, day) if tree.contains(region, n["region_code"])]
    needs.sort(key=lambda n: (n["raised_on"], n["need_id"]))
    resources = standing_resources(store, day, None, rules)
    declined = _declined(store, needs, resources)
    left = {r["resource"]["resource_id"]: r["resource"]["capacity"] - r["used"] for r in resources}
    options: dict[str, list[tuple[float, str]]] = {}
    for n in needs:
        scored = [
            (score, row["resource"]["resource_id"])
            for row in resources
            if (score := _judge(n, n["household_id"], n["region_code"] or "", row, declined, tree)[0]) is not None
        ]
        options[n["need_id"]] = sorted(scored, key=lambda s: (-s[0], s[1]))

    flow = nx.DiGraph()
    total = len(needs)
    flow.add_node("source", demand=-total)
    flow.add_node("sink", demand=total)
    for n in needs:
        nid = ("need", n["need_id"])
        flow.add_edge("source", nid, capacity=1, weight=0)
        flow.add_edge(nid, "sink", capacity=1, weight=0)  # unmet
        for score, rid in options[n["need_id"]]:
            flow.add_edge(nid, ("resource", rid), capacity=1, weight=-(URGENCY_WEIGHT[n["urgency"]] * 1000 + round(score * 100)))
    for rid, cap in left.items():
        if cap > 0:
            flow.add_edge(("resource", rid), "sink", capacity=cap, weight=0)
    solution = nx.min_cost_flow(flow) if needs else {}
    by_need = {n["need_id"]: n for n in needs}
    assignments = []
    for n in needs:
        for target, amount in solution.get(("need", n["need_id"]), {}).items():
            if amount and target != "sink":
                score = next(s for s, r in options[n["need_id"]] if r == target[1])
                assignments.append(
                    {
                        "need_id": n["need_id"],
                        "household_id": n["household_id"],
                        "resource_id": target[1],
                        "urgency": n["urgency"],
                        "score": score,
                    }
                )
    met = {a["need_id"] for a in assignments}

    greedy, remaining = [], dict(left)
    for n in needs:
        for score, rid in options[n["need_id"]]:
            if remaining[rid] > 0:
                remaining[rid] -= 1
                greedy.append(
                    {
                        "need_id": n["need_id"],
                        "household_id": n["household_id"],
                        "resource_id": rid,
                        "urgency": n["urgency"],
                        "score": score,
                    }
                )
                break

    def weighted(items: list[dict[str, Any]]) -> int:
        return sum(URGENCY_WEIGHT[by_need[a["need_id"]]["urgency"]] for a in items)

    return Allocation(
        assignments=sorted(assignments, key=lambda a: a["need_id"]),
        unmet=sorted(set(by_need) - met),
        weighted_met=weighted(assignments),
        greedy_assignments=greedy,
        greedy_weighted_met=weighted(greedy),
        weighted_total=sum(URGENCY_WEIGHT[n["urgency"]] for n in needs),
    )


def proposals(store: GraphStore, *, region: str | None = None, resource_id: str | None = None) -> list[dict[str, Any]]:
    """Matches proposed and waiting for a caseworker, oldest first, in ``region`` (a code and its
    subtree) or of one resource.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> proposals(two_cases())
    []
    """
    waiting = [d.props for d in store.iter_nodes(NodeKind.LINK_DECISION) if d.props.get("decision") == "proposed"]
    if resource_id is not None:
        waiting = [d for d in waiting if d["resource_id"] == resource_id]
    regions = {k: v.get("region_code") or "" for k, v in store.get_nodes(NodeKind.HOUSEHOLD, {d["household_id"] for d in waiting}).items()}
    tree = region_tree(store) if region is not None else STRUCTURAL
    return sorted(
        ({**d, "region_code": regions.get(d["household_id"])} for d in waiting if tree.contains(region, regions.get(d["household_id"]))),
        key=lambda d: (d["decided_at"], d["decision_id"]),
    )
