"""Needs and resources that refer to the service catalogue (issue 24): a need's need_type and a
resource's market sub-categories must be the catalogue's, a need type met by the row's category;
anything else is a bad row named by file, row and field, and nothing of it is stored; on both engines."""

from __future__ import annotations

from pathlib import Path

from graph.model import NodeKind
from graph.store import GraphStore
from ingest.loader import ingest_folder
from policy.catalogue import load_catalogue

NEEDS = """need_id,household_id,person_ref,category,urgency,raised_on,status,description,need_type
N-20,H-420106-0001,,schooling,needs_care,2025-03-01,open,tutoring for the daughter,N060
N-21,H-420106-0001,,medical,needs_care,2025-03-01,open,tutoring filed as medical,N060
N-22,H-420106-0001,,care,needs_care,2025-03-01,open,a need type no catalogue has,N999
N-23,H-420106-0001,,care,keep_watching,2025-03-01,open,no need type: still fine,
"""
RESOURCES = """resource_id,provider_name,provider_type,categories,region_code,capacity,funds_left,satisfaction,skills,languages,market
R-M1,武昌家教志愿队 tutors,volunteer,schooling,420106,5,,,,zh,tutoring;mentoring
R-M2,武昌水疗 spa,service_org,care,420106,5,,,,zh,meals;spa
"""


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "coded"
    folder.mkdir()
    (folder / "needs.csv").write_text(NEEDS, encoding="utf-8")
    (folder / "resources.csv").write_text(RESOURCES, encoding="utf-8")
    return folder


def test_unknown_or_mismatched_codes_are_bad_rows(store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> None:
    ingest_folder(store, two_cases_dir)
    report = ingest_folder(store, _folder(tmp_path), codes=load_catalogue().codes())
    bad = sorted((r.file, r.row, r.field, r.reason) for r in report.rejects)
    assert bad == [
        ("needs.csv", 3, "need_type", "N060 (课业辅导) is met as schooling, not medical (the row's category)"),
        ("needs.csv", 4, "need_type", "is not a need type of the catalogue 'district'"),
        ("resources.csv", 3, "market", "'spa' is not a sub-category of the catalogue 'district' market"),
    ]
    assert store.get_node(NodeKind.NEED, "N-20")["need_type"] == "N060"
    assert store.get_node(NodeKind.NEED, "N-23") is not None
    assert store.get_node(NodeKind.NEED, "N-21") is None and store.get_node(NodeKind.RESOURCE, "R-M2") is None
    assert store.get_node(NodeKind.RESOURCE, "R-M1")["market"] == ["tutoring", "mentoring"]


def test_the_command_line_checks_against_the_catalogue_it_is_given(tmp_path: Path, two_cases_dir: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["ingest", str(two_cases_dir), "--store", store]).exit_code == 0
    done = runner.invoke(app, ["ingest", str(_folder(tmp_path)), "--store", store, "--json"])
    assert done.exit_code == 3  # some rows rejected, the good ones stored
    assert "is not a need type of the catalogue 'district'" in done.output and '"field": "market"' in done.output


def test_a_store_made_before_the_codes_gains_their_columns(tmp_path: Path) -> None:
    from graph.stores.ladybug import LadybugStore

    old = LadybugStore(tmp_path / "old")
    old._writer.execute("ALTER TABLE `Need` DROP `need_type`")  # as a store of the format before the codes
    old.close()
    again = LadybugStore(tmp_path / "old")
    columns = {row[1] for row in again._writer.execute("CALL table_info('Need') RETURN *").get_all()}
    assert "need_type" in columns
    again.close()
