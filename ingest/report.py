"""What an ingest reports: per file, the rows read, written and rejected, and each reject by file,
row and field, with the value masked."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.privacy import mask_value
from graph.store import WriteResult
from ingest.exchange import FileRejected

__all__ = ["MAX_REJECTS_LISTED", "FileReport", "IngestReport", "Reject"]

#: Rejects kept per file for the report; more are counted, not listed (a wrong file of millions
#: of rows must not exhaust memory with its rejects).
MAX_REJECTS_LISTED = 100_000


def _shown(field_name: str | None, value: Any) -> str:
    """A rejected value as the report shows it: short, and masked if personal."""
    text = "" if value is None else str(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return mask_value(field_name, text)


@dataclass(frozen=True)
class Reject:
    """One bad field of one row (a row with two bad fields gives two)."""

    file: str
    row: int
    field: str
    reason: str
    value: str  # masked

    def line(self) -> str:
        return f"{self.file} row {self.row} field {self.field}: {self.reason} (value: {self.value!r})"


@dataclass
class FileReport:
    file: str
    rows: int = 0
    rejected_rows: int = 0
    rejects_unlisted: int = 0  # rejects past MAX_REJECTS_LISTED: counted only
    written: WriteResult = field(default_factory=WriteResult)


@dataclass
class IngestReport:
    folder: str
    ingest_id: str
    files: list[FileReport] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    files_rejected: list[FileRejected] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def file_summaries(self) -> list[dict[str, Any]]:
        """Per file: rows read, rows rejected, and nodes and relationships created, updated, unchanged, removed."""
        return [
            {
                "file": f.file,
                "rows": f.rows,
                "rejected_rows": f.rejected_rows,
                "rejects_unlisted": f.rejects_unlisted,
                "created": sum(f.written.created.values()),
                "updated": sum(f.written.updated.values()),
                "unchanged": sum(f.written.unchanged.values()),
                "removed": sum(f.written.removed.values()),
            }
            for f in self.files
        ]

    @property
    def rejected_rows(self) -> int:
        return sum(f.rejected_rows for f in self.files)

    @property
    def ok(self) -> bool:
        return not self.rejects and not self.files_rejected and self.rejected_rows == 0

    def write_rejects_csv(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["file", "row", "field", "reason", "value"])
            for fr in self.files_rejected:
                w.writerow([fr.file, "", "", f"file rejected whole: {fr.reason}", ""])
            for r in self.rejects:
                w.writerow([r.file, r.row, r.field, r.reason, r.value])
            for f_ in self.files:
                if f_.rejects_unlisted:
                    w.writerow(
                        [f_.file, "", "", f"{f_.rejects_unlisted:,} more rejects not listed (the first {MAX_REJECTS_LISTED:,} are)", ""]
                    )
