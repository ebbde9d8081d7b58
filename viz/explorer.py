"""The explorer page served by `aidgraph serve` at /explore: search, draw, expand, filter, findings.

The page itself holds no data: it calls the API with the key the caseworker types in, so what a
role may not see is absent from the page too. vis-network's script comes from the copy pyvis
ships, served here: the page works with no internet access.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyvis
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from viz.style import EDGE_STYLE, FINDING_COLOUR, KIND_STYLE

__all__ = ["VIS_NETWORK_JS", "explorer_html", "router"]

VIS_NETWORK_JS = Path(pyvis.__file__).resolve().parent / "lib" / "vis-9.1.2" / "vis-network.min.js"
_PAGE = Path(__file__).resolve().parent / "static" / "explorer.html"

router = APIRouter(prefix="/explore", include_in_schema=False)


def explorer_html() -> str:
    """The page, with the drawing style inlined."""
    style = json.dumps({"kinds": KIND_STYLE, "edges": EDGE_STYLE, "finding": FINDING_COLOUR}, ensure_ascii=False)
    return _PAGE.read_text(encoding="utf-8").replace("{{STYLE_JSON}}", style)


@router.get("", response_class=HTMLResponse)
async def page() -> str:
    return explorer_html()


@router.get("/vendor/vis-network.min.js")
async def vis_network() -> FileResponse:
    return FileResponse(VIS_NETWORK_JS, media_type="text/javascript")
