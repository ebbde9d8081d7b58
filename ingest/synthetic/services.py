"""The generated prefecture's service history: work orders, visits, evaluations and referrals, played
into a store after its files are ingested, with the planted cases the audit must find.

The exchange files carry needs and resources; what the districts do with them (dispatch, answer,
visit, complete, evaluate, refer) is AidGraph's own record, so it is made by AidGraph's own steps
(``actions``) on the ingested store, at fixed moments before the generator's day, from the seed:

- half the dispatched orders are answered, visited and completed; about one in five is answered after
  its deadline (so the share on time is below 1), satisfaction 0.6 to 1;
- **planted** ``order_overdue``: orders still unanswered past their deadline on the day;
- **planted** ``returned_not_redispatched``: orders returned, their needs never sent out again;
- **planted** ``barred_still_serving``: a resource that still serves households, barred by a final
  evaluation under the threshold;
- mid-term evaluations of other resources (scores 0.7 to 1), and referrals: urgent cases sent to
  the village window and escalated by the rules, others sent to the township station and resolved.

>>> from queries.examples import load_two_cases
>>> plant_services(load_two_cases(), seed=1)["counts"]["orders"]  # the two cases' needs are served
0
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from actions.referrals import answer_referral, escalate_due, refer
from actions.resource_evaluations import evaluate_resource
from actions.work_orders import accept_order, complete_order, dispatch, return_order, visit_order
from ingest.synthetic.geography import AS_OF
from policy.catalogue import Catalogue, load_catalogue
from queries.linkage import allocate, standing_resources
from queries.work_orders import work_orders

__all__ = ["order_times", "plant_services"]

#: Orders a prefecture gets at most (the needs the allocation can meet, in need order).
MAX_ORDERS = 2000


def _at(day: dt.date, hours: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(hours=hours)


def plant_services(store: Any, *, seed: int, day: dt.date = AS_OF, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Play a service history into ``store`` up to ``day``; return the planted cases and the counts."""
    catalogue = catalogue or load_catalogue()
    rng = random.Random(f"services/{seed}")
    plan = sorted(allocate(store, as_of=day, rules=catalogue.evaluation).assignments, key=lambda a: a["need_id"])
    plan = plan[:MAX_ORDERS]
    planted: list[dict[str, Any]] = []
    by = "服务派单中心 (generator)"
    for i, a in enumerate(plan):
        start = day - dt.timedelta(days=rng.randint(20, 120))
        order = dispatch(store, a["need_id"], a["resource_id"], by=by, at=_at(start, 0), catalogue=catalogue)
        oid, due = order["order_id"], dt.datetime.fromisoformat(order["due_by"])
        if i % 4 == 1:  # never answered: its deadline (at most 14 days) passed before the day
            planted.append({"kind": "order_overdue", "order": oid, "household": a["household_id"]})
            continue
        if i % 4 == 3:  # given back, never sent out again
            return_order(store, oid, by="社工站 (generator)", reason="机构人手不足", at=_at(start, 2))
            planted.append({"kind": "returned_not_redispatched", "order": oid, "household": a["household_id"]})
            continue
        late = rng.random() < 0.2
        answered = due + dt.timedelta(hours=rng.randint(1, 48)) if late else _at(start, rng.uniform(0.5, 20))
        answered = min(answered, due + dt.timedelta(hours=48))
        accept_order(store, oid, by="服务机构 (generator)", at=answered)
        visit_day = answered.date() + dt.timedelta(days=rng.randint(0, 5))
        visit_order(store, oid, by="社工 (generator)", on=visit_day, hours=round(rng.uniform(0.5, 3), 1), done="上门服务")
        complete_order(
            store, oid, by="社工 (generator)", satisfaction=round(rng.uniform(0.6, 1.0), 2), at=_at(visit_day, rng.uniform(2, 48))
        )
    planted += _bar_one(store, day, rng, catalogue, {a["resource_id"] for a in plan})
    _evaluate_others(store, day, rng, catalogue, {c.get("resource") for c in planted})
    steps = _refer(store, day, rng, plan, catalogue)
    orders = work_orders(store)
    planted.sort(key=lambda c: (c["kind"], c.get("order") or c.get("resource")))
    return {"planted": planted, "counts": {"orders": len(orders), "referral_steps": steps}}


def _bar_one(store: Any, day: dt.date, rng: random.Random, catalogue: Catalogue, ordered: set[str]) -> list[dict[str, Any]]:
    """A resource still serving households, with no order's feedback in the window, barred by a final
    evaluation under the threshold."""
    rows = standing_resources(store, day, None, catalogue.evaluation)
    serving = [r for r in rows if r["active_households"] and not r["standing"].barred and r["resource"]["resource_id"] not in ordered]
    if not serving:
        return []
    row = serving[rng.randrange(len(serving))]
    rid = row["resource"]["resource_id"]
    on = day - dt.timedelta(days=30)
    e = evaluate_resource(store, rid, stage="final", on=on, score=0.2, by="区评估组 (generator)", rules=catalogue.evaluation)
    return [{"kind": "barred_still_serving", "resource": rid, "barred_until": e["barred_until"], "households": row["active_households"]}]


def _evaluate_others(store: Any, day: dt.date, rng: random.Random, catalogue: Catalogue, skip: set[Any]) -> None:
    rows = [r for r in standing_resources(store, day, None, catalogue.evaluation) if r["resource"]["resource_id"] not in skip]
    for row in rows[:: max(1, len(rows) // 20)]:
        on = day - dt.timedelta(days=rng.randint(60, 300))
        score = round(rng.uniform(0.7, 1.0), 2)
        evaluate_resource(
            store,
            row["resource"]["resource_id"],
            stage="mid_term",
            on=on,
            score=score,
            by="区评估组 (generator)",
            rules=catalogue.evaluation,
        )


def _refer(store: Any, day: dt.date, rng: random.Random, plan: list[dict[str, Any]], catalogue: Catalogue) -> int:
    households = sorted({a["household_id"]: a for a in plan}.values(), key=lambda a: a["household_id"])[:50]
    steps = 0
    for a in households:
        sent = day - dt.timedelta(days=rng.randint(3, 40))
        if a["urgency"] == "urgent_intervention":
            refer(
                store,
                a["household_id"],
                level="village_window",
                by="村干部 (generator)",
                reason="急难",
                need_id=a["need_id"],
                at=_at(sent, 0),
            )
            steps += 1
        else:
            step = refer(
                store, a["household_id"], level="township_station", by="村干部 (generator)", reason="政策救助后仍困难", at=_at(sent, 0)
            )
            answer_referral(store, step["referral_id"], by="社工站 (generator)", response="链接服务", resolved=True, at=_at(sent, 30))
            steps += 1
    steps += len(escalate_due(store, catalogue.referral, by="转介规则 (generator)", now=_at(day, 8)))
    return steps


def order_times(orders: list[dict[str, Any]]) -> dict[str, Any]:
    """Dispatch to completion (hours: median, 90th percentile) and the share answered on time.

    >>> order_times([{"state": "completed", "dispatched_at": "2026-01-01T00:00:00+00:00", "completed_at": "2026-01-03T00:00:00+00:00",
    ...               "accepted_at": "2026-01-01T10:00:00+00:00", "due_by": "2026-01-02T00:00:00+00:00"}])
    {'completed': 1, 'to_completion_hours_median': 48.0, 'to_completion_hours_p90': 48.0, 'answered': 1, 'on_time_share': 1.0}
    """
    hours = sorted(
        (dt.datetime.fromisoformat(o["completed_at"]) - dt.datetime.fromisoformat(o["dispatched_at"])).total_seconds() / 3600
        for o in orders
        if o["state"] == "completed"
    )
    answered = [o for o in orders if o.get("accepted_at")]
    on_time = sum(1 for o in answered if o["accepted_at"] <= o["due_by"])
    return {
        "completed": len(hours),
        "to_completion_hours_median": round(hours[len(hours) // 2], 1) if hours else None,
        "to_completion_hours_p90": round(hours[int(len(hours) * 0.9)], 1) if hours else None,
        "answered": len(answered),
        "on_time_share": round(on_time / len(answered), 4) if answered else None,
    }
