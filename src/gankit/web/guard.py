"""The web lab's security layer: what every request must pass, and what every answer carries.

A loopback port is not private on a shared machine (every account reaches it), and a browser
sends a host's cookies to every port of it (a page that another account serves on
127.0.0.1:18999 would receive a cookie of 127.0.0.1:8000). So nothing a browser holds
authenticates on its own: the API answers only a request with ``Authorization: Bearer TOKEN``,
a header no other site can make a browser send (it would need a CORS preflight this server never
grants). The pages and their scripts are public and hold no data; the page keeps the token in
the tab's session storage and sends it with every request, pictures and the live stream included.
Every answer forbids framing and carries a strict Content-Security-Policy.
"""

from __future__ import annotations

import http
import re
import secrets
from typing import Optional
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from gankit.errors import UserError
from gankit.web.limits import MAX_QUERY

TOKEN_CHARS = re.compile(r"^[A-Za-z0-9._~+/=-]+$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The pages (shells that load their data with the token) and their static files: no data in them.
PUBLIC_PAGES = re.compile(r"^/(|run/[^/]+|toy|study/[^/]+|static/.*)$")
SAFE_METHODS = ("GET", "HEAD")

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def error(status: int, message: str, headers: Optional[dict] = None) -> JSONResponse:
    """Every answer that is not a success: JSON ``{"error": "one line"}``."""
    return JSONResponse({"error": " ".join(str(message).split()) or http.HTTPStatus(status).phrase},
                        status_code=status, headers=headers)


def check_token(token: str) -> str:
    """``token`` if it can be a token (it travels in a header and an address), else a UserError."""
    if not token or not TOKEN_CHARS.match(token):
        raise UserError("--token may hold only letters, digits and - . _ ~ + / = (and must not be empty)")
    return token


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def hostname(host_header: str) -> str:
    """The host of a Host header or an origin's netloc, without port, lower-case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """What every request must pass, in this order, and the headers every answer gets:

    1. the Host header: a loopback server answers only to loopback names (no DNS rebinding);
    2. a bounded query string (414);
    3. the token, when the server has one, for everything but the public pages and static
       files: ``Authorization: Bearer TOKEN`` only, never a cookie or a query string (401);
    4. for requests that change something (anything but GET and HEAD):
       ``Content-Type: application/json``, and an Origin, when one is sent, of this server (403).
    """

    def __init__(self, app, token: Optional[str], allowed_hosts: Optional[tuple[str, ...]]):
        self.app = app
        self.token = token
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, guarded)
            return
        await self.app(scope, receive, guarded)

    def refusal(self, scope) -> Optional[JSONResponse]:
        """The answer that refuses this request, or None when it may go on."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.allowed_hosts is not None and hostname(host) not in self.allowed_hosts:
            return error(403, f"this server answers only to {', '.join(self.allowed_hosts)} "
                              f"(the request named host '{host}')")
        if len(scope.get("query_string") or b"") > MAX_QUERY:
            return error(414, f"the query string is longer than {MAX_QUERY} bytes")
        method = scope.get("method", "GET")
        public = method in SAFE_METHODS and PUBLIC_PAGES.match(scope.get("path", ""))
        if self.token is not None and not public:
            why = self._token_refusal(headers)
            if why is not None:
                return error(401, why, headers={"WWW-Authenticate": "Bearer"})
        if method not in SAFE_METHODS:
            why = self._write_refusal(headers, method)
            if why is not None:
                return error(403, why)
        return None

    def _token_refusal(self, headers: Headers) -> Optional[str]:
        """Why the request's credentials are refused, or None when they carry the token."""
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() != "bearer ":
            return ("a token is required: open the address gankit serve printed (it ends in #token=...), or send "
                    "the header Authorization: Bearer TOKEN")
        if not secrets.compare_digest(authorization[7:].strip().encode(), self.token.encode()):
            return "wrong token"
        return None

    @staticmethod
    def _write_refusal(headers: Headers, method: str) -> Optional[str]:
        """Why a request that changes something is refused, or None."""
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            return f"{method} requests must send Content-Type: application/json (got '{media or 'none'}')"
        origin = headers.get("origin")
        if origin is not None and (origin == "null"
                                   or urlsplit(origin).netloc.lower() != headers.get("host", "").lower()):
            return "cross-origin request refused"
        return None
