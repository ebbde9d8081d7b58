"""The exchange-format reader and loader, fuzzed with hypothesis (bounded: FUZZ_EXAMPLES each).

Inputs are the hostile corpus's files mutated byte by byte (flips, insertions, deletions, splices
of awkward bytes), and CSV assembled from awkward cells. Whatever the bytes, the reader either
yields rows or refuses the file with FileRejected; the loader never raises, every reject names its
file, row and field, a refused file stores nothing, and ingesting the same file again changes
nothing (nothing half-applied, nothing doubled).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.stores.ladybug import LadybugStore
from ingest.exchange import FILE_SPECS, FileRejected, check_structure, read_rows
from ingest.loader import count_changes, ingest_folder
from tests.conftest import TWO_CASES
from tests.e2e.ingest.test_hostile import snapshot
from tests.unit.ingest.hostile_corpus import CASES

FUZZ_EXAMPLES = int(os.environ.get("AIDGRAPH_FUZZ_EXAMPLES", "1000"))
AWKWARD = [
    b'"',
    b",",
    b"\n",
    b"\r",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\xe6\xb0",
    "民".encode(),
    b"\\",
    b";",
    b"\t",
    b"'",
    b"{",
    b"}",
]
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
# The loader's examples each load a database three times (about 0.5 s on LadybugDB, 0.09 s on the
# former in-memory engine): a third as many keep the suite's time; the reader's keep them all.
LOADER_FUZZ = settings(FUZZ, max_examples=max(1, FUZZ_EXAMPLES // 3))


@st.composite
def mutated_corpus_file(draw: st.DrawFn) -> tuple[str, bytes]:
    case = draw(st.sampled_from(CASES))
    data = bytearray(case.content)
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "splice"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            data[at:at] = draw(st.sampled_from(AWKWARD))
    return case.file, bytes(data)


@st.composite
def assembled_csv(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(FILE_SPECS)))
    columns = list(FILE_SPECS[name].columns)
    header = draw(st.lists(st.sampled_from([*columns, "extra", ""]), min_size=1, max_size=len(columns) + 2))
    if draw(st.booleans()):
        header = columns
    cell = st.one_of(
        st.text(max_size=12), st.sampled_from(["", "0", "-1", "1e309", "2023-02-30", "420106199001011231", '"', 'a"b', "a,b", "x\ny"])
    )
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=6))

    def quote(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if draw(st.booleans()) or any(ch in c for ch in ',"\n\r') else c

    text = "\n".join(",".join(quote(c) for c in r) for r in [header, *rows]) + draw(st.sampled_from(["", "\n", "\r\n"]))
    return f"{name}.{draw(st.sampled_from(['csv', 'csv', 'jsonl']))}", text.encode("utf-8", "surrogatepass")


def _reader_holds(file: str, data: bytes) -> None:
    name = file.rsplit(".", 1)[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / file
        path.write_bytes(data)
        try:
            check_structure(path, FILE_SPECS[name])
            rows = list(read_rows(path, FILE_SPECS[name]))
        except FileRejected as exc:
            assert exc.file == file and exc.reason
            return
        numbers = [n for n, _ in rows]
        assert numbers == sorted(set(numbers)) and all(n >= 1 for n in numbers)


def _loader_holds(file: str, data: bytes) -> None:
    # In memory: the loader is under test, not the disk (a store on disk per example tripled the time).
    with tempfile.TemporaryDirectory() as tmp, LadybugStore.in_memory() as store:
        assert ingest_folder(store, TWO_CASES).ok
        before = snapshot(store)
        folder = Path(tmp) / "delivery"
        folder.mkdir()
        (folder / file).write_bytes(data)
        report = ingest_folder(store, folder)
        for r in report.rejects:
            assert r.file == file and r.row >= 1 and r.field and r.reason
        if report.files_rejected:
            assert [f.file for f in report.files_rejected] == [file]
            assert snapshot(store) == before
            return
        after = snapshot(store)
        assert set(before[0]) <= set(after[0])  # nothing deleted
        again = ingest_folder(store, folder)
        assert not count_changes(again), "ingesting the same file twice changed the store the second time"
        assert snapshot(store) == after


@FUZZ
@given(mutated_corpus_file())
def test_reader_survives_mutated_corpus(file_and_data: tuple[str, bytes]) -> None:
    _reader_holds(*file_and_data)


@FUZZ
@given(assembled_csv())
def test_reader_survives_assembled_csv(file_and_data: tuple[str, bytes]) -> None:
    _reader_holds(*file_and_data)


@LOADER_FUZZ
@given(st.one_of(mutated_corpus_file(), assembled_csv()))
def test_loader_survives_fuzzed_files(file_and_data: tuple[str, bytes]) -> None:
    _loader_holds(*file_and_data)
