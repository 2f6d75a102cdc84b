"""The dashboard at ``/dashboard/``: static pages over the management API.

The pages (``host/dashboard/``: HTML, CSS and vanilla JavaScript, no build step,
nothing fetched from another host) read and act through the management HTTP API
(``api.py``) like any other client, so they obey the same rules. This module only
serves the files and one JSON document the pages cannot get from the API: the
wire vocabulary (event type names, runtime statuses, from ``_protocol.py``) and
the app's functions as the banner lists them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_functions._protocol import EventType, RuntimeStatus
from durable_functions.host.http import Request, Response, error_response

PREFIX = "/dashboard"
STATIC = Path(__file__).with_name("dashboard")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_PAGES = ("", "entities", "functions", "instances")
"""First path segments the single page answers (``instances/<id>`` is a deep link)."""
_SECURITY_HEADERS = [
    # Nothing from another host, no framing (a confirm dialog must not be clickjacked).
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-cache"),
]


def is_dashboard(path: str) -> bool:
    """Whether a raw request path belongs to the dashboard."""
    lowered = path.lower()
    return lowered == PREFIX or lowered.startswith(PREFIX + "/")


def _vocabulary() -> dict[str, Any]:
    return {
        "eventTypes": {str(int(t)): t.name for t in EventType},
        "runtimeStatuses": [s.value for s in RuntimeStatus],
    }


@dataclass(eq=False, repr=False)
class Dashboard:
    """Answers ``GET /dashboard/…``; ``functions`` lists the app's functions for the page."""

    hub: str
    functions: Callable[[], list[dict[str, Any]]]
    _files: dict[str, tuple[bytes, str]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for path in sorted(STATIC.iterdir()):
            if path.suffix in _TYPES:
                self._files[path.name] = (path.read_bytes(), _TYPES[path.suffix])

    def handle(self, request: Request) -> Response:
        """Serve a page, a static file or ``meta.json``."""
        if request.method not in ("GET", "HEAD"):
            return error_response(405, f"the dashboard answers GET only, not {request.method}")
        segments = request.segments[1:]
        if request.path.lower() == PREFIX:
            return Response(status=302, headers=[("Location", PREFIX + "/")])
        if segments == ["meta.json"]:
            meta = {"taskHub": self.hub, "functions": self.functions(), **_vocabulary()}
            body = json.dumps(meta).encode("utf-8")
            return self._answer(body, "application/json; charset=utf-8")
        if len(segments) == 2 and segments[0] == "static" and segments[1] in self._files:
            return self._answer(*self._files[segments[1]])
        page = segments[0] if segments else ""
        if page in _PAGES and (len(segments) <= 1 or (page == "instances" and len(segments) == 2)):
            return self._answer(*self._files["index.html"])
        return error_response(404, f"no dashboard page at {request.path}")

    @staticmethod
    def _answer(body: bytes, content_type: str) -> Response:
        return Response(
            status=200, headers=[("Content-Type", content_type), *_SECURITY_HEADERS], body=body
        )
