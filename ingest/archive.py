"""Exchange files delivered as one zip archive, unpacked safely.

Departments send a folder zipped. An archive is untrusted input: its entries are unpacked only if
they are plain exchange-file names (no folders climbing out, no links, no nested archives), and
the sizes its directory declares are checked before anything is written (a total over the limit,
or an entry packed more than ``MAX_RATIO`` times, is refused at once), and the bytes actually
written are counted against the limit while unpacking, so an archive whose headers lie about
sizes stops at the limit too instead of filling the disk.

>>> import io, zipfile, tempfile, pathlib
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("export/departments.csv", "department_code,name\\nMZ,民政局\\n")
>>> with tempfile.TemporaryDirectory() as d:
...     unpack_exchange_zip(buf, pathlib.Path(d), name="export.zip").unpacked
['departments.csv']
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingest.exchange import FILE_SPECS, FileRejected

__all__ = ["MAX_ENTRIES", "MAX_RATIO", "MAX_UNPACKED_BYTES", "ArchiveRejected", "UnpackReport", "unpack_exchange_zip"]

#: Everything unpacked from one archive, together: above the largest real delivery (a
#: prefecture's exchange files are a few GB), below what fills a server's disk.
MAX_UNPACKED_BYTES = 8 << 30
#: An exchange delivery is at most one file per kind (twice: CSV or JSONL) and some notes.
MAX_ENTRIES = 200
#: Text exchange files compress about 5 to 15 times; a zip bomb thousands of times.
MAX_RATIO = 200
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,100}$")


class ArchiveRejected(FileRejected):
    """The archive as a whole is refused: nothing of it is ingested. ``too_large``: for its size."""

    def __init__(self, file: str, reason: str, *, too_large: bool = False):
        super().__init__(file, reason)
        self.too_large = too_large


@dataclass
class UnpackReport:
    unpacked: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # entries that are not exchange files, as named in the archive
    bytes_unpacked: int = 0


def unpack_exchange_zip(
    source: str | Path | BinaryIO, into: Path, *, name: str, max_bytes: int = MAX_UNPACKED_BYTES, max_entries: int = MAX_ENTRIES
) -> UnpackReport:
    """Unpack the exchange files of a zip archive into the folder ``into``, flat.

    Entries may sit in one folder of the archive (``export/persons.csv``); other entries
    (notes, nested archives, links, names that are not plain) are listed as ignored. Raises
    ArchiveRejected, naming the archive, if it is not a zip, holds too many entries, names one
    exchange file twice, declares or unpacks to more than ``max_bytes`` (counted as written), or
    packs an entry more than ``MAX_RATIO`` times.
    """
    report = UnpackReport()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveRejected(name, f"is not a readable zip archive: {exc}") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > max_entries:
            raise ArchiveRejected(name, f"holds {len(entries):,} entries; an exchange delivery has at most {max_entries}")
        declared = sum(info.file_size for info in entries if not info.is_dir())
        if declared > max_bytes:
            raise ArchiveRejected(
                name,
                f"unpacks to more than {max_bytes:,} bytes (it declares {declared:,}): a zip bomb, or a delivery to split into smaller archives",
                too_large=True,
            )
        for info in entries:
            if not info.is_dir() and info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size):
                ratio = info.file_size // max(1, info.compress_size)
                raise ArchiveRejected(name, f"{info.filename} is packed {ratio:,} times: a zip bomb, not a delivery", too_large=True)
        budget = max_bytes
        for info in entries:
            if info.is_dir():
                continue
            base = PurePosixPath(info.filename.replace("\\", "/")).name
            stem, _, suffix = base.rpartition(".")
            is_link = stat.S_ISLNK(info.external_attr >> 16)
            if is_link or not _PLAIN_NAME.match(base) or suffix not in ("csv", "jsonl") or stem not in FILE_SPECS:
                report.ignored.append(info.filename)
                continue
            target = into / base
            if target.exists():
                raise ArchiveRejected(name, f"holds {base} twice ({info.filename}): send each exchange file once")
            if info.flag_bits & 0x1:
                raise ArchiveRejected(name, f"{info.filename} is encrypted: send the archive without a password")
            try:
                with archive.open(info) as src, target.open("wb") as out:
                    while chunk := src.read(1 << 20):
                        budget -= len(chunk)
                        if budget < 0:
                            raise ArchiveRejected(
                                name,
                                f"unpacks to more than {max_bytes:,} bytes (stopped at {info.filename}): "
                                "a zip bomb, or a delivery to split into smaller archives",
                                too_large=True,
                            )
                        out.write(chunk)
            except ArchiveRejected:
                _remove(into, [*report.unpacked, base])
                raise
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                _remove(into, [*report.unpacked, base])
                raise ArchiveRejected(name, f"{info.filename} cannot be unpacked: {exc}") from None
            report.unpacked.append(base)
        report.bytes_unpacked = max_bytes - budget
    return report


def _remove(folder: Path, names: list[str]) -> None:
    """Remove what a refused archive had unpacked so far: nothing of it is ingested."""
    for n in names:
        (folder / n).unlink(missing_ok=True)
