"""The household view as of a day: ages, incomes, members and aid then; each record's sending department."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from graph.store import GraphStore
from ingest.loader import ingest_folder
from queries.household_chain import household_chain

DRIVER, FATHER = "420106198305141516", "420106195203021333"


def test_the_view_shows_the_household_as_it_stood_on_the_day(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    before = household_chain(store, "H-420106-0001", as_of=dt.date(2020, 1, 1))
    assert before is not None
    members = {m.person["id_number"]: m for m in before.view.members}
    # Born 1983-05-14: 36 on 2020-01-01; the ride-hailing income began in 2021, the father's pension in 2012.
    assert members[DRIVER].age == 36 and members[DRIVER].incomes == []
    assert [i["income_id"] for i in members[FATHER].incomes] == ["INC-2"]
    assert before.view.aid_records == []  # the 低保 began in 2023

    during = household_chain(store, "H-420106-0001", as_of=dt.date(2023, 7, 1))
    assert during is not None
    assert {m.person["id_number"]: m.age for m in during.view.members}[DRIVER] == 40
    # The flexible work ended 2023-03-31: on 2023-07-01 the driver has no income.
    assert {m.person["id_number"]: m for m in during.view.members}[DRIVER].incomes == []
    sent_by = {a.record["record_id"]: (a.sending_department or {}).get("name") for a in during.view.aid_records}
    # The supplementary insurance record was sent by medical insurance, whatever department runs the programme.
    assert sent_by == {"MZ-2023-000118": "民政局 civil affairs", "YB-2023-004521": "医疗保障局 medical insurance"}
