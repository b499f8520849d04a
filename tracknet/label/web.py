"""The HTTP side of ``tracknet label``'s app: one-line JSON errors, request parsing that
refuses what it cannot trust (content type, size, unknown fields, non-integers), and the
guard in front of every route (token, origin, security headers). The rules are listed in
:mod:`tracknet.label.app` ("Safety").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import reprlib
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_BODY = 1 << 20
_ASCII_INTEGER = re.compile(r"-?[0-9]{1,18}")  # query values: ASCII digits only (not "٣" or "²")
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 2, 40, 40, 4, 4
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token in the URL stays here
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; "
        "style-src 'self'; connect-src 'self'; frame-ancestors 'none'"
    ),
}


class HTTPError(Exception):
    """An answer with a status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def shown(value: Any) -> str:
    """A short ``repr`` of a value from a request, for an error message (nested lists or long
    strings are cut: a message never echoes a whole body, and never recurses deep)."""
    return _SHORT.repr(value)


def query_integer(raw: str | None, signed: bool = False) -> int | None:
    """``raw`` as an integer when it is one in ASCII digits (a leading ``-`` when ``signed``);
    None otherwise (other scripts' digits, which ``str.isdigit`` accepts, are refused)."""
    if raw is None or not _ASCII_INTEGER.fullmatch(raw) or (raw.startswith("-") and not signed):
        return None
    return int(raw)


async def json_body(request: Request) -> dict:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPError(415, "send the body as application/json")
    declared = query_integer(request.headers.get("content-length"))
    if declared is not None and declared > MAX_BODY:
        raise HTTPError(413, f"request body larger than {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPError(413, f"request body larger than {MAX_BODY} bytes")
    try:
        data = json.loads(bytes(body))
    except ValueError as exc:  # also text that is not UTF-8, and integers too long to convert
        raise HTTPError(400, f"the body is not valid JSON ({exc})") from None
    except RecursionError:  # e.g. '[' * 1000 + ']' * 1000: deeper than the parser goes
        raise HTTPError(400, "the body is not valid JSON (nested too deep)") from None
    if not isinstance(data, dict):
        raise HTTPError(400, "the body must be a JSON object")
    return data


def check_fields(data: dict, allowed: set[str], where: str = "body") -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        names = shown(unknown)
        raise HTTPError(422, f"unknown field(s) {names} in {where}; expected {sorted(allowed)}")


def integer_field(data: dict, key: str, where: str = "body") -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise HTTPError(422, f"{where}: {key!r} must be an integer, got {shown(value)}")
    return value


def number_field(data: dict, key: str, where: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise HTTPError(422, f"{where}: {key!r} must be a finite number, got {shown(value)}")
    return float(value)


# --------------------------------------------------------------------------- guards
def cookie_name(token: str) -> str:
    return "tracknet_label_" + hashlib.sha256(token.encode()).hexdigest()[:12]


class Guard(BaseHTTPMiddleware):
    """Token, origin and security headers (see the module docstring)."""

    def __init__(self, app, token: str | None) -> None:
        super().__init__(app)
        self.token = token
        self.cookie = cookie_name(token) if token else ""

    def _token_ok(self, request: Request) -> tuple[bool, bool]:
        """``(allowed, came in the URL)``."""
        if self.token is None:
            return True, False
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            return True, True
        cookie = request.cookies.get(self.cookie, "")
        return hmac.compare_digest(cookie.encode(), self.token.encode()), False

    async def dispatch(self, request: Request, call_next):
        allowed, in_url = self._token_ok(request)
        if not allowed:
            response: Response = error_response(
                401, "this server needs its token: open the URL it printed (…?token=…)"
            )
        elif request.method not in ("GET", "HEAD") and not self._same_origin(request):
            response = error_response(403, "cross-origin write refused")
        else:
            response = await call_next(request)
            if in_url:
                response.set_cookie(
                    self.cookie, self.token or "", httponly=True, samesite="strict", path="/"
                )
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @staticmethod
    def _same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser's cross-site request (those always say where from)
        host = request.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")
