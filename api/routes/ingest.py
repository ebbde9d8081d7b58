"""Upload of exchange-format files (EXCHANGE-FORMAT.md): validated, stored, answered with the reject report."""

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile

from api.core.errors import ERROR_RESPONSES, ApiError
from api.core.security import Caller
from api.deps import ContextDep, require
from api.models import IngestReportPublic
from graph.privacy import mask_tree
from ingest.archive import ArchiveRejected, unpack_exchange_zip
from ingest.loader import ingest_folder

router = APIRouter(tags=["ingest"], responses=ERROR_RESPONSES)
# A plain file name: no folders, no hidden files (an upload must not write outside its temporary folder).
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,100}$")
MAX_REJECTS_SHOWN = 1000


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
    and the good rows are stored; names that are not exchange files are listed as ignored.
    """
    with tempfile.TemporaryDirectory(prefix="aidgraph-upload-") as tmp:
        folder = Path(tmp)
        unsafe = []
        for f in files:
            name = f.filename or ""
            if not _FILE_NAME.match(name):
                unsafe.append(name)  # never written: listed as ignored, like any file that is not an exchange file
                continue
            if name.lower().endswith(".zip"):
                try:
                    unpacked = unpack_exchange_zip(f.file, folder, name=name, max_bytes=ctx.settings.max_unzipped_bytes)
                except ArchiveRejected as exc:
                    status, code = (413, "payload_too_large") if "unpacks to more than" in exc.reason else (422, "invalid_request")
                    raise ApiError(status, code, f"files: {exc}") from None
                unsafe.extend(f"{name}:{entry}" for entry in unpacked.ignored)
                continue
            if (folder / name).exists():
                raise ApiError(409, "conflict", f"files: {name} was uploaded twice; send each file once")
            with (folder / name).open("wb") as out:
                shutil.copyfileobj(f.file, out)
        report = await ctx.runtime.write(lambda s: ingest_folder(s, folder, encoding=encoding))
        report.ignored.extend(unsafe)
    request.state.audit_others = {f"ingest:{report.ingest_id}", *(f.file for f in report.files)}
    return {
        "ingest_id": report.ingest_id,
        "files": report.file_summaries(),
        "files_rejected": [{"file": r.file, "reason": r.reason} for r in report.files_rejected],
        "rejects": mask_tree([r.__dict__ for r in report.rejects[:MAX_REJECTS_SHOWN]]),
        "rejects_total": len(report.rejects) + sum(f.rejects_unlisted for f in report.files),
        "ignored": report.ignored,
    }
