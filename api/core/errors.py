"""Errors as JSON with a stable code and a human message, never a stack trace.

>>> ApiError(404, "not_found", "no household H-1 in your region").body()
{'error': {'code': 'not_found', 'message': 'no household H-1 in your region'}}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["ERROR_RESPONSES", "ApiError", "ErrorDetail", "ErrorPublic"]


class ErrorDetail(BaseModel):
    code: str  # stable: clients branch on it
    message: str  # for people; may change


class ErrorPublic(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": description}


#: The errors any route may answer, declared in the OpenAPI schema so clients (and schemathesis) know them.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("The body could not be read: not JSON, or broken multipart data (code bad_request)."),
    401: _doc("No key, or an unknown or revoked key (code unauthorized)."),
    403: _doc("The caller's role may not use this route (code forbidden)."),
    404: _doc("Nothing of that id within the caller's scope (code not_found): out-of-scope objects look absent."),
    409: _doc("The request conflicts with the graph, e.g. a resource that cannot serve that need (code conflict)."),
    413: _doc("The request body is larger than allowed (code payload_too_large)."),
    414: _doc("The request path or query string is longer than allowed (code uri_too_long); nothing was recorded."),
    422: _doc("A parameter or body field is invalid (code invalid_request); the message names it."),
    429: _doc("Too many requests for this key (code rate_limited); see Retry-After."),
    500: _doc("An internal error (code internal); it is in the server log and the audit trail."),
    503: _doc("The store or the audit trail is unavailable (code unavailable)."),
    504: _doc("The query ran longer than allowed (code query_timeout)."),
}
