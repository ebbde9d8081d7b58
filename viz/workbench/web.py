"""What every workbench page shares: templates, the signed-in user, CSRF, errors, login and logout.

A page is the API's answer rendered: the page functions call the API's own route functions with
the session's caller, so the role, the region and the masking are the API's, decided once. The
requests are written to the audit trail as the API's are (``api.main.AuditTrail``).
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.core.security import Caller, Role
from viz.workbench.i18n import LANGUAGES, Language, local_name
from viz.workbench.session import COOKIE, LANG_COOKIE, LOGIN_CSRF_COOKIE, Session, Sessions

__all__ = ["N_", "PREFIX", "PageError", "User", "error_page", "is_own_page", "render", "router", "signed_in", "status_text"]

PREFIX = "/workbench"


def N_(text: str) -> str:
    """Marks an English text for the catalogues; it is translated where it is shown."""
    return text


_HERE = Path(__file__).resolve().parent
_LOADER = FileSystemLoader(_HERE / "templates")
#: Where each role starts; admin and consumer keys have no workbench (they manage keys, or are systems).
HOME = {Role.CASEWORKER: "/queues", Role.AUDITOR: "/findings", Role.CHARITY: "/families"}
#: An error's status → what the user reads (in their language) and may do.
_STATUS_TEXT = {
    400: N_("The request could not be read. Go back and try again."),
    401: N_("Please sign in again with your API key."),
    403: N_("Your role cannot open this page or do this. Ask your administrator if you need it."),
    404: N_("Not found, or not in your region. Check the number and search again."),
    409: N_("This cannot be done now: it has changed since you opened it. Reload the page and try again."),
    413: N_("The request is too large."),
    414: N_("The request is too long. Search with fewer characters."),
    422: N_("Some of what you entered is not valid. Correct it and send again."),
    429: N_("Too many requests. Wait a minute and try again."),
    503: N_("The service is busy or unavailable. Try again in a few minutes."),
}


class PageError(Exception):
    """A page's refusal in the user's words (English source, translated on the way out)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class LoginNeeded(Exception):
    pass


@dataclass
class User:
    session: Session
    caller: Caller
    lang: Language


def _environment(lang: Language) -> Environment:
    env = Environment(loader=_LOADER, autoescape=select_autoescape(["html"]), extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(lang.translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(term=lang.term, terms=lang.terms, reason=lang.reason, lname=lambda n: local_name(n, lang.code), lang=lang, P=PREFIX)
    env.filters["money"] = lambda v: "" if v is None else f"{float(v):,.2f}"
    env.filters["q"] = lambda d: urlencode({k: v for k, v in d.items() if v not in (None, "")})
    env.filters["url"] = lambda v: quote(str(v), safe="")
    return env


_ENVIRONMENTS = {code: _environment(Language.get(code)) for code in LANGUAGES}


def language_of(request: Request) -> Language:
    return Language.get(request.cookies.get(LANG_COOKIE, "zh"))


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    user: User | None = getattr(request.state, "workbench_user", None)
    lang = user.lang if user else language_of(request)
    page = (
        _ENVIRONMENTS[lang.code]
        .get_template(template)
        .render(user=user, csrf=user.session.csrf if user else "", request=request, path=request.url.path, **values)
    )
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def status_text(status: int) -> str:
    return _STATUS_TEXT.get(status, N_("Something went wrong. Try again; if it persists, tell your administrator."))


def error_page(request: Request, status: int, message: str | None = None) -> HTMLResponse:
    """The error as a page (or, for an htmx request, as the fragment that replaces the result)."""
    text = message or status_text(status)
    template = "error_fragment.html" if request.headers.get("hx-request") else "error.html"
    return render(request, template, status=status, message=text)


def sessions_of(request: Request) -> Sessions:
    return request.app.state.workbench_sessions


async def signed_in(request: Request) -> User:
    """The dependency of every page: the session's user, its key checked again; a POST's CSRF token checked."""
    ctx = request.app.state.aidgraph
    session = sessions_of(request).find(request.cookies.get(COOKIE))
    if session is None:
        raise LoginNeeded
    caller = ctx.keys.verify(session.token)
    if caller is None or caller.role not in HOME:
        sessions_of(request).end_key(session.token)
        raise LoginNeeded
    caller = dataclasses.replace(caller, tree=await ctx.runtime.region_tree())
    request.state.caller = caller
    # The trail names the page by its template (never the raw path, which holds what was typed).
    request.state.action = "workbench " + getattr(request.scope.get("route"), "path", PREFIX)
    user = User(session=session, caller=caller, lang=Language.get(session.lang))
    request.state.workbench_user = user
    if request.method not in ("GET", "HEAD"):
        sent = request.headers.get("x-csrf-token") or (await request.form()).get("csrf_token")
        if not Sessions.csrf_ok(session, sent if isinstance(sent, str) else None):
            raise PageError(403, N_("The form has expired or did not come from this page. Reload the page and send it again."))
    allowed, _ = ctx.limiter.allow(caller.key_id, per_minute=caller.rate_per_minute or ctx.settings.default_rate_per_minute)
    if not allowed:
        raise PageError(429, status_text(429))
    return user


def is_own_page(path: str) -> bool:
    """A workbench path a form or a switch may return to (never another site: no ``//``, no ``\\``)."""
    return path.startswith(PREFIX + "/") and "//" not in path and "\\" not in path


def require_role(user: User, *roles: Role) -> None:
    if user.caller.role not in roles:
        raise PageError(403, status_text(403))


def _cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict", secure=request.url.scheme == "https")


router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", login_csrf=token, failed=False)
    _cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=30 * 60)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, api_key: str = Form(max_length=200), csrf_token: str = Form(max_length=200)) -> Response:
    ctx = request.app.state.aidgraph
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        raise PageError(403, N_("The form has expired or did not come from this page. Reload the page and send it again."))
    client = (request.client.host if request.client else "?") or "?"
    if ctx.limiter.exhausted(f"login:{client}", per_minute=ctx.settings.failed_per_minute):
        raise PageError(429, status_text(429))
    caller = ctx.keys.verify(api_key.strip())
    if caller is None or caller.role not in HOME:
        ctx.limiter.allow(f"login:{client}", per_minute=ctx.settings.failed_per_minute)
        message = (
            N_("This key cannot sign in to the workbench: it is unknown or revoked.")
            if caller is None
            else N_(
                "This key is for managing keys or for other systems; the workbench is for caseworkers, auditors and charity coordinators."
            )
        )
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", status=401, login_csrf=token, failed=True, message=message)
        _cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=30 * 60)
        return response
    request.state.caller = caller
    session = sessions_of(request).start(api_key.strip(), lang=language_of(request).code)
    response = RedirectResponse(PREFIX + HOME[caller.role], status_code=303)
    _cookie(response, request, COOKIE, session.sid)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await signed_in(request)
    sessions_of(request).end(request.cookies.get(COOKIE))
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/language/{code}")
async def switch_language(request: Request, code: str) -> Response:
    """Switch the pages' language (zh or en) and come back to the page the user was on."""
    code = code if code in LANGUAGES else "zh"
    back = request.query_params.get("back", "")
    target = back if is_own_page(back) else PREFIX + "/"
    response = RedirectResponse(target, status_code=303)
    _cookie(response, request, LANG_COOKIE, code, max_age=365 * 24 * 3600)
    session = sessions_of(request).find(request.cookies.get(COOKIE))
    if session is not None:
        session.lang = code
    return response


@router.get("")
@router.get("/")
async def home(request: Request) -> Response:
    session = sessions_of(request).find(request.cookies.get(COOKIE))
    if session is None:
        return RedirectResponse(PREFIX + "/login", status_code=303)
    user = await signed_in(request)
    return RedirectResponse(PREFIX + HOME[user.caller.role], status_code=303)
