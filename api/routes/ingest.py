"""Upload of exchange-format files (EXCHANGE-FORMAT.md): staged, validated, checked against the
caller's region, and stored in one transaction, or not at all.

An upload is audited when it starts (the files it brings) and when it ends (the answer). Its
files are staged in the server's staging folder, deleted when the request ends whatever happens,
and the whole folder is emptied when the server starts, so a crash leaves no personal data behind.
Unpacking and copying run in a worker thread: the server keeps answering meanwhile.
"""

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, File, Query, Request, UploadFile

from api.core.errors import ERROR_RESPONSES, ApiError
from api.core.security import Caller
from api.core.write_scope import WriteOutOfScope, write_scope_violations
from api.deps import ContextDep, require
from api.models import IngestReportPublic
from graph.privacy import mask_text, mask_tree
from graph.store import WriteBatch
from ingest.archive import ArchiveRejected, unpack_exchange_zip
from ingest.loader import ingest_folder

router = APIRouter(tags=["ingest"], responses=ERROR_RESPONSES)
# A plain file name: no folders, no hidden files (an upload must not write outside its staging folder).
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,100}$")
MAX_REJECTS_SHOWN = 1000


def _stage(files: list[tuple[str, BinaryIO]], folder: Path, budget: int) -> list[str]:
    """Copy and unpack the uploaded files into ``folder``, at most ``budget`` bytes in all; the names ignored."""
    ignored = []
    for name, data in files:
        if not _FILE_NAME.match(name):
            ignored.append(name)  # never written: listed as ignored, like any file that is not an exchange file
            continue
        if name.lower().endswith(".zip"):
            try:
                unpacked = unpack_exchange_zip(data, folder, name=name, max_bytes=budget)
            except ArchiveRejected as exc:
                status, code = (413, "payload_too_large") if exc.too_large else (422, "invalid_request")
                raise ApiError(status, code, f"files: {exc}") from None
            budget -= unpacked.bytes_unpacked
            ignored.extend(f"{name}:{entry}" for entry in unpacked.ignored)
            continue
        if (folder / name).exists():
            raise ApiError(409, "conflict", f"files: {name} was uploaded twice; send each file once")
        with (folder / name).open("wb") as out:
            while chunk := data.read(1 << 20):
                budget -= len(chunk)
                if budget < 0:
                    raise ApiError(413, "payload_too_large", f"files: the upload unpacks to more than the server's limit (at {name})")
                out.write(chunk)
    return ignored


@router.post("/ingest", response_model=IngestReportPublic)
async def upload(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("ingest.upload"))],
    files: Annotated[
        list[UploadFile],
        File(min_length=1, description="Exchange-format files (regions.csv, persons.jsonl, ...), or zip archives of them."),
    ],
    encoding: Annotated[
        Literal["utf-8", "gb18030", "gbk", "big5", "utf-16"] | None,
        Query(description="Encoding of files without a BOM (default UTF-8; gb18030 reads GBK exports too)."),
    ] = None,
) -> Any:
    """Validate and store the uploaded files; every rejected row comes back by file, row and field.

    As with ``aidgraph ingest``: a file with a bad header is rejected whole; a bad row is rejected
    and the good rows are stored; names that are not exchange files are listed as ignored. All the
    good rows land in one transaction. A key scoped to a region may create or change only what
    lies in its region, before and after the write; otherwise nothing is stored (403, with the
    reasons).
    """
    names = [f.filename or "" for f in files]
    await anyio.to_thread.run_sync(
        lambda: ctx.audit_log.append(
            key_id=caller.key_id,
            key_name=caller.name,
            role=caller.role.value,
            method="POST",
            route="ingest.upload started",
            status=102,
            other_subjects=[mask_text(n[:120]) for n in names],
        )
    )
    staged = ctx.settings.staging_path()
    staged.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=staged))
    try:
        sources = [(n, f.file) for n, f in zip(names, files, strict=True)]
        ignored = await anyio.to_thread.run_sync(_stage, sources, folder, ctx.settings.max_unzipped_bytes)

        codes = ctx.catalogue.codes()

        def check(batch: WriteBatch) -> None:
            if caller.region is not None:
                reasons = write_scope_violations(ctx.runtime.store, batch, caller.sees_region)
                if reasons:
                    raise WriteOutOfScope(reasons)

        try:
            report = await ctx.runtime.write(
                lambda s: ingest_folder(s, folder, encoding=encoding, one_transaction=True, check=check, codes=codes)
            )
        except WriteOutOfScope as exc:
            raise ApiError(403, "out_of_scope", f"nothing was stored: {exc}") from None
        report.ignored.extend(ignored)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    request.state.audit_others = {f"ingest:{report.ingest_id}", *(f.file for f in report.files)}
    return {
        "ingest_id": report.ingest_id,
        "files": report.file_summaries(),
        "files_rejected": [{"file": r.file, "reason": r.reason} for r in report.files_rejected],
        "rejects": mask_tree([r.__dict__ for r in report.rejects[:MAX_REJECTS_SHOWN]]),
        "rejects_total": len(report.rejects) + sum(f.rejects_unlisted for f in report.files),
        "ignored": report.ignored,
    }
