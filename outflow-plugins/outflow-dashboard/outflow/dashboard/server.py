"""The dashboard's HTTP server: the standard library's, one thread per request.

Routes (GET only; the dashboard never changes anything):

- ``/`` and ``/runs/<id>``: the pages (``static/runs.html``, ``static/run.html``);
- ``/static/<file>``: their script and style sheet, from this package;
- ``/api/runs?state=&command=``: :func:`~outflow.dashboard.queries.runs_document`;
- ``/api/runs/<id>``: :func:`~outflow.dashboard.queries.run_document`.

Why the standard library: two JSON documents and four files need no web framework,
and the dashboard adds nothing to install. Every response body goes through the
pipeline's secret masker once more, and says ``Content-Security-Policy: default-src
'self'``: a page can load nothing from elsewhere.

Bound to the loopback address, anyone on this machine may read it, as they may read
the database; a request naming another host (``Host:``) is refused, so that a web page
elsewhere cannot reach it by rebinding its own name to 127.0.0.1. Bound to any other
address, every request must carry the token (``?token=...`` once, then a cookie),
compared in constant time; without it the answer is ``403``.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

#: The cookie that carries the token once a request brought it in the URL.
COOKIE = "outflow_dashboard_token"
#: Static files, by name: their content type.
STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8",
          "runs.html": "text/html; charset=utf-8", "run.html": "text/html; charset=utf-8"}
_RUN_PAGE = re.compile(r"^/runs/(\d+)$")
_RUN_API = re.compile(r"^/api/runs/(\d+)$")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine (no token needed there)."""
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


class DashboardServer(ThreadingHTTPServer):
    """Serves one pipeline's runs: its databases, settings and secret masker."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], databases: Any, settings: Any,
                 mask: Any, token: str | None) -> None:
        super().__init__(address, DashboardHandler)
        self.databases = databases
        self.settings = settings
        self.mask = mask
        self.token = token


class DashboardHandler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "outflow-dashboard"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if not self._allowed(query):
            self._send(HTTPStatus.FORBIDDEN, "text/plain; charset=utf-8",
                       b"a token is required: open the address outflow dashboard printed\n")
            return
        try:
            self._route(parts.path, query)
        except Exception as error:  # noqa: BLE001 - one request fails, not the server
            from outflow.management.runs import RunNotFound

            if isinstance(error, RunNotFound):
                self._json(HTTPStatus.NOT_FOUND, {"error": str(error)})
                return
            log.warning("outflow dashboard: %s failed: %s: %s", parts.path,
                        type(error).__name__, error)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR,
                       {"error": f"{type(error).__name__}: {error}"})

    def _route(self, path: str, query: dict[str, str]) -> None:
        from outflow.dashboard import queries

        if path in ("/", "/runs", "/runs/"):
            self._static("runs.html")
        elif _RUN_PAGE.match(path):
            self._static("run.html")
        elif path.startswith("/static/") and path[len("/static/"):] in STATIC:
            self._static(path[len("/static/"):])
        elif path == "/api/runs":
            limit = int(query["limit"]) if query.get("limit", "").isdigit() else 200
            self._json(HTTPStatus.OK, queries.runs_document(
                self.server.databases, state=query.get("state"), command=query.get("command"),
                limit=limit))
        elif (match := _RUN_API.match(path)) is not None:
            self._json(HTTPStatus.OK, queries.run_document(
                self.server.databases, self.server.settings, int(match.group(1))))
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")

    # -- the token ---------------------------------------------------------------------
    def _allowed(self, query: dict[str, str]) -> bool:
        token = self.server.token
        if token is None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            return is_loopback(host)
        given = query.get("token") or self._cookie()
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            self._set_cookie = "token" in query
            return True
        return False

    def _cookie(self) -> str | None:
        from http.cookies import CookieError, SimpleCookie

        try:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
        except CookieError:
            return None
        morsel = cookie.get(COOKIE)
        return morsel.value if morsel is not None else None

    # -- answers -----------------------------------------------------------------------
    def _static(self, name: str) -> None:
        data = resources.files("outflow.dashboard").joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, STATIC[name], data)

    def _json(self, status: HTTPStatus, document: Any) -> None:
        text = json.dumps(document, default=str)
        self._send(status, "application/json", text.encode())

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        if content_type.startswith(("application/json", "text/")):
            body = self.server.mask(body.decode()).encode()  # once more: nothing slips
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.send_header("X-Content-Type-Options", "nosniff")
        if getattr(self, "_set_cookie", False):
            self.send_header("Set-Cookie", f"{COOKIE}={self.server.token}; Path=/; "
                                           "HttpOnly; SameSite=Strict")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.debug("outflow dashboard: " + format, *args)


__all__ = ["COOKIE", "DashboardHandler", "DashboardServer", "is_loopback"]
