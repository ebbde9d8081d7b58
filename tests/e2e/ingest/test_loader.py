"""Ingest: good rows stored, bad rows reported by file/row/field, idempotent, updates recorded."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from graph.model import NodeKind, RelKind
from graph.national_id import is_valid_id_number
from graph.store import GraphStore
from ingest.loader import count_changes, ingest_folder
from queries.household import household_view
from queries.unlinked import unlinked_references


def rows_in(folder: Path) -> dict[str, int]:
    out = {}
    for path in folder.glob("*.csv"):
        with path.open(encoding="utf-8-sig") as f:
            out[path.stem] = sum(1 for _ in csv.DictReader(f))
    return out


def append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def test_two_cases_store_exactly_their_rows(embedded_store: GraphStore, two_cases_dir: Path) -> None:
    report = ingest_folder(embedded_store, two_cases_dir)
    assert report.ok, [r.line() for r in report.rejects]
    rows = rows_in(two_cases_dir)
    counts = embedded_store.counts()
    for file, kind in [
        ("regions", "Region"),
        ("departments", "Department"),
        ("programs", "Program"),
        ("households", "Household"),
        ("persons", "Person"),
        ("incomes", "Income"),
        ("assets", "Asset"),
        ("aid_records", "AidRecord"),
        ("needs", "Need"),
        ("resources", "Resource"),
        ("services", "Service"),
    ]:
        assert counts.nodes[kind] == rows[file], kind
    assert counts.edges["KIN"] == rows["kinship"]
    assert counts.edges["MEMBER_OF"] == rows["persons"]


def test_mistyped_beneficiary_id_is_kept_as_a_department_reference(embedded_store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(embedded_store, two_cases_dir)
    record = embedded_store.get_node(NodeKind.AID_RECORD, "YB-2023-007731")
    assert record is not None
    assert record["beneficiary_ref"] == "420203201307090421"  # as the department sent it
    assert unlinked_references(embedded_store).aid_records == ["YB-2023-007731"]
    # No stand-in person was invented for the mistyped number.
    assert embedded_store.get_node(NodeKind.PERSON, "420203201307090421") is None


def test_bad_rows_are_rejected_and_good_rows_stored(embedded_store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    shutil.copytree(two_cases_dir, folder)
    # Good extra rows, and exactly one bad row per rule.
    append(folder / "households.csv", "H-GOOD,420106005001,somewhere,urban,1")
    append(folder / "households.csv", "H-BAD-REGION,999999,nowhere,urban,1")  # row 5: unknown region
    append(folder / "persons.csv", "420106199001011231,好人,M,1990-01-01,H-GOOD,head,420106,420106005001,0,false,false,full,employed,,,")
    append(folder / "persons.csv", "420106199001011235,坏号,M,1990-01-01,H-GOOD,other,,,,,,,,,,")  # row 10: bad check digit
    append(folder / "persons.csv", "420106199002301234,坏日,M,1990-02-30,H-GOOD,other,,,,,,,,,,")  # row 11: impossible date
    append(folder / "persons.csv", "420106198001010015,无户,M,1980-01-01,H-MISSING,head,,,,,,,,,,")  # row 12: household missing
    append(folder / "aid_records.csv", "MZ-NEG,MZ,DIBAO,household,H-GOOD,,,-5,2024-01-01,,active,")  # row 7: negative amount
    assert is_valid_id_number("420106199001011231") and is_valid_id_number("420106198001010015")
    assert not is_valid_id_number("420106199001011235")

    report = ingest_folder(embedded_store, folder)
    got = sorted((r.file, r.row, r.field) for r in report.rejects)
    assert got == [
        ("aid_records.csv", 7, "amount"),
        ("households.csv", 5, "region_code"),
        ("persons.csv", 10, "id_number"),
        ("persons.csv", 11, "birth_date"),
        ("persons.csv", 12, "household_id"),
    ]
    reasons = {(r.file, r.row): r for r in report.rejects}
    assert "check character" in reasons[("persons.csv", 10)].reason
    assert reasons[("persons.csv", 10)].value == "420106********1235"  # masked in the report
    assert "calendar date" in reasons[("persons.csv", 11)].reason
    assert "unknown household H-MISSING" in reasons[("persons.csv", 12)].reason
    assert "unknown region 999999" in reasons[("households.csv", 5)].reason
    assert "negative" in reasons[("aid_records.csv", 7)].reason

    counts = embedded_store.counts()
    assert counts.nodes["Household"] == 3 and counts.nodes["Person"] == 8 and counts.nodes["AidRecord"] == 5
    assert embedded_store.get_node(NodeKind.PERSON, "420106199001011231")["name"] == "好人"

    again = ingest_folder(embedded_store, folder)
    assert count_changes(again) == {}
    assert embedded_store.counts() == counts
    assert len(again.rejects) == 5


def test_structurally_broken_file_stores_nothing_of_it(embedded_store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    shutil.copytree(two_cases_dir, folder)
    text = (folder / "incomes.csv").read_text(encoding="utf-8")
    # Valid rows first, then a byte that is not UTF-8 on the last line.
    (folder / "incomes.csv").write_bytes(text.encode() + b"INC-9,420106198305141516,wage,\xff\xfe,RS,,\n")
    report = ingest_folder(embedded_store, folder)
    assert [f.file for f in report.files_rejected] == ["incomes.csv"]
    assert "not UTF-8" in report.files_rejected[0].reason
    assert embedded_store.counts().nodes["Income"] == 0
    assert embedded_store.counts().nodes["Person"] == 7  # the other files went in


def test_duplicate_keys_within_a_file_reject_the_later_row(embedded_store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "delivery"
    shutil.copytree(two_cases_dir, folder)
    append(folder / "departments.csv", "MZ,another name")
    report = ingest_folder(embedded_store, folder)
    [reject] = report.rejects
    assert (reject.file, reject.row, reject.field) == ("departments.csv", 7, "department_code")
    assert "first at row 2" in reject.reason
    assert embedded_store.get_node(NodeKind.DEPARTMENT, "MZ")["name"] == "民政局 civil affairs"


def test_a_newer_row_updates_and_the_change_is_in_history(embedded_store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> None:
    ingest_folder(embedded_store, two_cases_dir)
    update = tmp_path / "update"
    update.mkdir()
    (update / "persons.csv").write_text(
        "id_number,name,sex,birth_date,household_id,relation_to_head,employment,phone\n"
        "420106198305141516,周建军,M,1983-05-14,H-420203-0001,other,employed,\n",
        encoding="utf-8",
    )
    report = ingest_folder(embedded_store, update)
    assert report.ok
    person = embedded_store.get_node(NodeKind.PERSON, "420106198305141516")
    assert person["employment"] == "employed"
    assert person["phone"] == "13800000001"  # an empty cell is "not known": it does not erase
    [change] = embedded_store.history(NodeKind.PERSON, "420106198305141516")
    assert change["before"]["employment"] == "unemployed" and change["after"]["employment"] == "employed"
    assert "persons.csv" in change["source"]
    # He moved household: the old membership is replaced, not kept beside the new one.
    members = [(e.src_key, e.dst_key) for e in embedded_store.iter_edges(RelKind.MEMBER_OF) if e.src_key == "420106198305141516"]
    assert members == [("420106198305141516", "H-420203-0001")]


def test_kin_known_only_to_a_department_becomes_a_person_outside_the_register(
    embedded_store: GraphStore, two_cases_dir: Path, tmp_path: Path
) -> None:
    ingest_folder(embedded_store, two_cases_dir)
    feed = tmp_path / "feed"
    feed.mkdir()
    # A son of the driver's parents living in another province, known only to public security.
    (feed / "kinship.csv").write_text(
        "from_id_number,to_id_number,relation\n420106195203021333,440305198001011219,parent_of\n", encoding="utf-8"
    )
    report = ingest_folder(embedded_store, feed)
    assert report.ok
    son = embedded_store.get_node(NodeKind.PERSON, "440305198001011219")
    assert son == {"id_number": "440305198001011219", "in_register": False, "sex": "M", "birth_date": "1980-01-01"}
    view = household_view(embedded_store, household_id="H-420106-0001")
    assert [(r.person["id_number"], r.relative_is) for r in view.relatives] == [("440305198001011219", "child")]


def test_generated_prefecture_ingests_without_rejects_and_idempotently(embedded_store: GraphStore, generated_2000: Path) -> None:
    report = ingest_folder(embedded_store, generated_2000)
    assert report.ok, [r.line() for r in report.rejects[:5]]
    rows = rows_in(generated_2000)
    assert embedded_store.counts().nodes["Person"] == rows["persons"]
    assert embedded_store.counts().nodes["AidRecord"] == rows["aid_records"]
    again = ingest_folder(embedded_store, generated_2000)
    assert count_changes(again) == {}


def test_a_large_file_finds_its_repeated_keys_first_and_rejects_the_same_rows(
    two_cases_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file longer than a chunk is read for its repeated keys before it is validated; the rows
    rejected as duplicates are those a check of every key rejects: a key given again after a good
    row, not after a bad one."""
    from graph.stores.ladybug import LadybugStore
    from ingest import loader

    folder = tmp_path / "delivery"
    shutil.copytree(two_cases_dir, folder)
    for line in (
        "H-X,420106005001,某地址,urban,2",  # row 4
        "H-420106-0001,420106005001,again,urban,4",  # row 5: the two cases' first household again
        "H-Y,not-a-region,某地址,urban,2",  # row 6: bad, so H-Y is not taken
        "H-Y,420106005001,某地址,urban,2",  # row 7: taken
        "H-X,420106005001,again,urban,2",  # row 8: H-X again
    ):
        append(folder / "households.csv", line)

    def rejects(at: str, **options: object) -> list[tuple[str, int, str, str]]:
        with LadybugStore(tmp_path / at) as store:
            report = ingest_folder(store, folder, **options)  # type: ignore[arg-type]
            return [(r.file, r.row, r.field, r.reason) for r in report.rejects]

    expected = rejects("every-key")  # households.csv is shorter than a chunk: every key is remembered
    duplicates = [(row, reason) for file, row, field, reason in expected if "duplicate" in reason]
    assert duplicates == [(5, "duplicate key in this file (first at row 2)"), (8, "duplicate key in this file (first at row 4)")]
    assert [row for file, row, *_ in expected if file == "households.csv"] == [5, 6, 8]
    assert rejects("read-first", chunk_rows=3) == expected
    monkeypatch.setattr(loader, "hash", lambda key: 0, raising=False)  # every key's hash the same
    assert rejects("all-clashing", chunk_rows=3) == expected
