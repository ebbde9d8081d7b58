"""Masking and minors: what each role sees of a person, and the scanner that guards every response."""

from __future__ import annotations

import datetime as dt

from api.core.presenting import initial_name, is_minor, present
from tests.e2e.api.conftest import HOUSEHOLD, MINOR, MINOR_NAME, OTHER_HOUSEHOLD, Api, unmasked_contacts, unmasked_ids

OTHER_MINOR_NAME = "周雨欣"  # the 武昌 driver's daughter


def test_the_scanner_catches_a_leak() -> None:
    assert unmasked_ids('{"id_number": "420203201307092421"}') == ["420203201307092421"]
    assert unmasked_ids('{"id_number": "420203********2421", "amount": 123456789012345678}') == []  # not a valid check digit
    assert unmasked_ids("Person:11010519491231002X") == ["11010519491231002X"]
    assert unmasked_ids("kind=x11010519491231002X") == ["11010519491231002X"]
    assert unmasked_contacts('{"evidence": "bank_account:6217002870012345678", "phone": "139****5678", "tel": "13912345678"}') == [
        "6217002870012345678",
        "13912345678",
    ]


def test_ids_and_phones_are_masked_for_everyone(api: Api) -> None:
    body = api.client.get(f"/households/{HOUSEHOLD}", headers=api.headers("caseworker_in")).json()
    head = body["members"][0]["person"]
    assert head["id_number"] == "420203********1710"
    assert head["phone"] == "139****0002"


def test_minors_only_for_caseworkers_of_their_region(api: Api) -> None:
    own = api.client.get(f"/households/{HOUSEHOLD}/chain", headers=api.headers("caseworker_in")).json()
    assert MINOR_NAME in str(own) and "2013-07-09" in str(own)
    assert [(g["group"], g["persons"]) for g in own["groups"]] == [("serious_illness", ["420203********2421"])]  # her leukaemia
    for who in ("auditor", "consumer_all"):
        answer = api.client.get(f"/households/{HOUSEHOLD}/chain", headers=api.headers(who))
        assert MINOR_NAME not in answer.text and "2013-07-09" not in answer.text, who
        assert "王X." in answer.text
        assert answer.json()["groups"] == [], who  # nor does her illness show through the group it puts her in
    # 武昌's caseworker sees the 武昌 girl, and the auditor does not.
    assert OTHER_MINOR_NAME in api.client.get(f"/households/{OTHER_HOUSEHOLD}", headers=api.headers("caseworker_out")).text
    assert OTHER_MINOR_NAME not in api.client.get(f"/households/{OTHER_HOUSEHOLD}", headers=api.headers("auditor")).text
    # Everywhere else an auditor looks.
    for path in ("/households", f"/persons/{MINOR}", "/findings", "/identity/unresolved"):
        text = api.client.get(path, headers=api.headers("auditor")).text
        assert MINOR_NAME not in text and OTHER_MINOR_NAME not in text, path


def test_a_hidden_minor_keeps_only_what_counts_a_household() -> None:
    payload = {
        "members": [
            {"person": {"id_number": MINOR, "name": MINOR_NAME, "birth_date": "2013-07-09", "household_id": "H-1", "major_illness": True}}
        ],
        "aid_records": [{"record": {"beneficiary_ref": MINOR, "beneficiary_name": MINOR_NAME, "beneficiary_birth_date": "2013-07-09"}}],
    }
    shown = present(payload, minors_region=None, household_regions=lambda ids: dict.fromkeys(ids, "420203"), today=dt.date(2026, 1, 1))
    person = shown["members"][0]["person"]
    assert person == {"id_number": "420203********2421", "name": "王X.", "household_id": "H-1", "minor": True}
    assert shown["aid_records"][0]["record"] == {"beneficiary_ref": "420203********2421", "beneficiary_name": "王X."}
    visible = present(
        payload, minors_region="420203", household_regions=lambda ids: dict.fromkeys(ids, "420203100201"), today=dt.date(2026, 1, 1)
    )
    assert visible["members"][0]["person"]["major_illness"] is True


def test_adulthood_is_the_eighteenth_birthday() -> None:
    person = {"id_number": MINOR}
    assert is_minor(person, dt.date(2031, 7, 8)) and not is_minor(person, dt.date(2031, 7, 9))


def test_initials() -> None:
    assert [initial_name(n) for n in ("周建军", "司马光", "王", "Li Ming", "Smith", "")] == ["周J.", "司马G.", "王", "Li M.", "S.", ""]
