"""The workbench at /workbench: server-rendered pages in Chinese (English on request) for
caseworkers, auditors and charity coordinators, over the API's own rules. See docs/workbench.md."""

from __future__ import annotations

from pathlib import Path

import pyvis
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from viz.workbench import auditor, casework, caseworker, coordinator, orders, web
from viz.workbench.session import Sessions
from viz.workbench.web import PREFIX, LoginNeeded, PageError, error_page

__all__ = ["PREFIX", "VIS_NETWORK_JS", "install", "is_page"]

VIS_NETWORK_JS = Path(pyvis.__file__).resolve().parent / "lib" / "vis-9.1.2" / "vis-network.min.js"
STATIC = Path(__file__).resolve().parent / "static"


def is_page(path: str) -> bool:
    """A workbench page (audited), not one of its static files."""
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not path.startswith(PREFIX + "/static/")


def install(app: FastAPI, *, sessions: Sessions | None = None) -> None:
    app.state.workbench_sessions = sessions or Sessions()

    files = APIRouter(include_in_schema=False)

    @files.get(PREFIX + "/static/vis-network.min.js")
    async def vis_network() -> FileResponse:
        return FileResponse(VIS_NETWORK_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})

    @files.get("/explore")
    async def explore() -> RedirectResponse:  # the former developer page's address
        return RedirectResponse(PREFIX + "/", status_code=308)

    app.include_router(files)
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="workbench-static")
    for module in (web, caseworker, auditor, coordinator, orders, casework):
        app.include_router(module.router)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return error_page(request, exc.status, exc.message)

    @app.exception_handler(LoginNeeded)
    async def login_needed(request: Request, _: LoginNeeded) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": PREFIX + "/login"})
        return RedirectResponse(PREFIX + "/login", status_code=303)
