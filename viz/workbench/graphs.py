"""The graphs the workbench draws, as vis-network data: a household's chain and a finding's picture.

Built on the server from answers the API has already masked. A household's monthly payment lines
are folded into one node per enrolment (programme and beneficiary: "低保 ×140"), so a family paid
for years draws as a handful of nodes, not a hairball. Labels are in the user's language.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from viz.style import EDGE_STYLE, FINDING_COLOUR, KIND_STYLE
from viz.workbench.i18n import Language, local_name

__all__ = ["chain_graph", "finding_graph", "legend"]


def legend(lang: Language) -> list[dict[str, str]]:
    return [{**s, "kind": k, "label": lang.term("node_kind", k)} for k, s in KIND_STYLE.items()]


def _node(node_id: str, kind: str, label: str, title: str, *, flagged: bool = False, household: str | None = None) -> dict[str, Any]:
    style = KIND_STYLE.get(kind, {"color": "#999", "shape": "dot"})
    return {
        "id": node_id,
        "kind": kind,
        "label": label,
        "title": title,
        "shape": style["shape"],
        "color": {"background": style["color"], "border": FINDING_COLOUR if flagged else style["color"]},
        "borderWidth": 4 if flagged else 1,
        "household": household,
    }


def _edge(src: str, dst: str, rel: str, lang: Language) -> dict[str, Any]:
    style = EDGE_STYLE.get(rel, {"color": "#999", "dashes": False})
    return {"from": src, "to": dst, "rel": rel, "title": lang.term("rel_kind", rel), "color": style["color"], "dashes": style["dashes"]}


def _label(kind: str, props: dict[str, Any], lang: Language) -> str:
    if kind == "Household":
        return str(props.get("household_id", ""))
    if kind == "Person":
        return str(props.get("name") or props.get("id_number") or "")
    if kind == "Program":
        return lang.term("program", props.get("program_code")) if props.get("program_code") else local_name(props.get("name"), lang.code)
    if kind == "Department":
        return local_name(props.get("name"), lang.code) or str(props.get("department_code", ""))
    if kind == "Need":
        return lang.term("need_category", props.get("category"))
    if kind == "Resource":
        return str(props.get("provider_name") or props.get("resource_id") or "")
    return lang.term("node_kind", kind)


def chain_graph(chain: dict[str, Any], lang: Language) -> dict[str, Any]:
    """vis-network nodes and edges of a (masked) chain; each node lists the ``keys`` it stands for
    (an enrolment, its records), which the findings' outlines are matched against."""
    household_id = chain["view"]["household"]["household_id"]
    members = {m["person"].get("id_number") for m in chain["view"]["members"]}
    folded: dict[str, str] = {}  # aid record node id → its enrolment's node id
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in chain["nodes"]:
        if n["kind"] == "AidRecord":
            p = n["props"]
            group = f"Enrolment:{household_id}:{p.get('program_code')}:{p.get('beneficiary_ref')}"
            folded[n["id"]] = group
            groups[group].append(p)
    nodes: dict[str, dict[str, Any]] = {}
    for n in chain["nodes"]:
        if n["kind"] == "AidRecord":
            continue
        p = n["props"]
        key = n["id"].split(":", 1)[-1]
        label = _label(n["kind"], p, lang)
        home = p.get("household_id") if n["kind"] == "Person" and p.get("id_number") not in members else household_id
        title = f"{lang.term('node_kind', n['kind'])}: {label}"
        nodes[n["id"]] = _node(n["id"], n["kind"], label, title, household=home)
        nodes[n["id"]]["keys"] = [key]
        if n["kind"] == "Person" and not p.get("outside_region"):  # a relative outside the key's region cannot be expanded
            nodes[n["id"]]["person_household"] = p.get("household_id")
    for group, records in groups.items():
        first = records[0]
        total = sum(float(r.get("amount") or 0) for r in records)
        program = lang.term("program", first.get("program_code"))
        days = sorted(r.get("period_start") or "" for r in records)
        label = f"{program} ×{len(records)}" if len(records) > 1 else program
        title = f"{program}: {len(records)} · {days[0]} – {days[-1]} · {total:,.2f}"
        nodes[group] = _node(group, "AidRecord", label, title, household=household_id)
        nodes[group]["records"] = len(records)
        nodes[group]["keys"] = [r.get("record_id") for r in records]
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in chain["edges"]:
        src, dst = folded.get(e["src"], e["src"]), folded.get(e["dst"], e["dst"])
        if src in nodes and dst in nodes and src != dst:
            edges.setdefault((src, dst, e["rel"]), _edge(src, dst, e["rel"], lang))
    return {"root": f"Household:{household_id}", "nodes": list(nodes.values()), "edges": list(edges.values())}


def finding_graph(finding: dict[str, Any], lang: Language) -> dict[str, Any]:
    """A finding as one picture: its households, persons, records, programmes and the identifier they share."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []
    fid = f"Finding:{finding['id']}"
    nodes[fid] = {
        "id": fid,
        "kind": "Finding",
        "label": lang.term("finding_kind", finding["kind"]),
        "title": lang.term("finding_rule", finding["kind"]),
        "shape": "ellipse",
        "color": {"background": "#fde0dc", "border": FINDING_COLOUR},
        "borderWidth": 3,
    }
    for kind, values in (
        ("Household", finding["households"]),
        ("Person", finding["persons"]),
        ("AidRecord", finding["records"]),
        ("Program", finding.get("programs", [])),
        ("Need", finding.get("needs", [])),
        ("Service", finding.get("services", [])),
    ):
        for value in values:
            node_id = f"{kind}:{value}"
            label = lang.term("program", value) if kind == "Program" else str(value)
            nodes[node_id] = _node(node_id, kind, label, f"{lang.term('node_kind', kind)}: {label}", flagged=True)
            edges.append(_edge(fid, node_id, "CONCERNS", lang))
    evidence = finding.get("evidence") or {}
    shared = [tuple(str(i).split(":", 1)) for i in evidence.get("identifiers", []) if ":" in str(i)]
    if finding["kind"] == "person_in_two_households":
        shared = [("same_person", evidence.get("match", ""))]
    for field, value in shared:
        node_id = f"Identifier:{field}:{value}"
        label = f"{lang.term('identifier', field)}: {value}" if value else lang.term("identifier", field)
        nodes[node_id] = {
            "id": node_id,
            "kind": "Identifier",
            "label": label,
            "title": label,
            "shape": "hexagon",
            "color": {"background": "#ffd8a8", "border": FINDING_COLOUR},
            "borderWidth": 3,
        }
        for person in finding["persons"]:
            edges.append(_edge(f"Person:{person}", node_id, "SHARES", lang))
    return {"root": fid, "nodes": list(nodes.values()), "edges": edges}
