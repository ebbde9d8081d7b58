"""Reading exchange files: encodings, headers, quoting, JSONL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.exchange import FILE_SPECS, MAX_LINE_CHARS, FileRejected, check_structure, find_files, read_rows

SPEC = FILE_SPECS["departments"]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_with_bom_and_quoted_newlines(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.csv", '\ufeffdepartment_code,name\nMZ,"民政局\ncivil affairs"\nYB,医保\n'.encode())
    rows = list(read_rows(path, SPEC))
    assert rows == [(2, {"department_code": "MZ", "name": "民政局\ncivil affairs"}), (3, {"department_code": "YB", "name": "医保"})]


def test_missing_required_column_rejects_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.csv", b"department_code,label\nMZ,x\n")
    with pytest.raises(FileRejected, match="missing required column"):
        list(read_rows(path, SPEC))


def test_wrong_delimiter_is_explained(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.csv", b"department_code;name\nMZ;x\n")
    with pytest.raises(FileRejected, match="delimiter must be a comma"):
        list(read_rows(path, SPEC))


def test_gbk_file_is_recognised_and_read_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.csv", "department_code,name\nMZ,民政局\n".encode("gbk"))
    with pytest.raises(FileRejected, match=r"GBK.*--encoding gb18030"):
        list(read_rows(path, SPEC))
    assert list(read_rows(path, SPEC, encoding="gb18030")) == [(2, {"department_code": "MZ", "name": "民政局"})]


def test_utf16_file_with_bom_is_read(tmp_path: Path) -> None:
    for codec in ("utf-16", "utf-16-be"):
        data = "department_code,name\r\nMZ,民政局\r\n".encode(codec)
        if codec == "utf-16-be":
            data = b"\xfe\xff" + data
        path = write(tmp_path, "departments.csv", data)
        assert list(read_rows(path, SPEC)) == [(2, {"department_code": "MZ", "name": "民政局"})]


def test_a_line_without_end_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.csv", b"department_code,name\nMZ," + b"x" * (MAX_LINE_CHARS + 10))
    with pytest.raises(FileRejected, match="line 2 is longer than"):
        check_structure(path, SPEC)
    path = write(tmp_path, "departments.csv", b"department_code,name\nMZ,a\x00b\n")
    with pytest.raises(FileRejected, match="line 2 holds NUL"):
        check_structure(path, SPEC)


def test_unknown_encoding_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.csv", b"department_code,name\n")
    with pytest.raises(FileRejected, match="unknown encoding 'klingon'"):
        list(read_rows(path, SPEC, encoding="klingon"))


def test_a_row_with_too_many_cells_is_flagged(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.csv", b"department_code,name\nMZ,x,extra\n")
    [(number, fields)] = list(read_rows(path, SPEC))
    assert number == 2 and "3 cells" in fields[None]


def test_jsonl_rows_and_bad_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "departments.jsonl", b'{"department_code": "MZ", "name": "x"}\n[1]\n{broken\n')
    rows = list(read_rows(path, SPEC))
    assert rows[0] == (1, {"department_code": "MZ", "name": "x"})
    assert rows[1][0] == 2 and "one JSON object" in rows[1][1][None]
    assert rows[2][0] == 3 and "not valid JSON" in rows[2][1][None]


def test_both_csv_and_jsonl_of_one_kind_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "departments.csv", b"department_code,name\n")
    write(tmp_path, "departments.jsonl", b"")
    write(tmp_path, "notes.csv", b"a\n")
    found, rejected, ignored = find_files(tmp_path)
    assert "departments" not in found
    assert "both" in rejected[0].reason
    assert ignored == ["notes.csv"]
