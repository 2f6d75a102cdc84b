"""Hypothesis strategies for malformed HTTP requests, and a sender that fails on a hang.

Shared by the fuzz tests of the management API (``tests/host``) and of the generated
app's starters (``tests/template``): every answer must be below 500 (a ``Failed``
instance's status, which the protocol answers with 500, excepted) and arrive in time.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from hypothesis import strategies as st

ANSWER_WITHIN = 15.0
"""Seconds an answer may take before the request counts as a hang."""

NASTY_TEXT = [
    "",
    "0",
    "-1",
    "1",
    "0.5",
    "2",
    "NaN",
    "Infinity",
    "-inf",
    "1e309",
    "99999999999999999999",
    "true",
    "false",
    "null",
    "Running",
    "Completed,Failed",
    "running,bogus",
    "2024-01-01T00:00:00Z",
    "9999-99-99",
    "not-a-date",
    "é",
    "%00",
    "a/b",
    "..",
    "$",
    "@counter@k",
    "x" * 300,
]
texts = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=24))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
NASTY_BODIES = [
    b"NaN",
    b"[Infinity]",
    b'{"a": -Infinity}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b"\xff\xfe",
    b'"unterminated',
    b"1e999999",
]
bodies = st.one_of(
    st.none(),
    st.sampled_from(NASTY_BODIES),
    st.binary(max_size=64),
    json_values.map(lambda value: json.dumps(value).encode()),
)
headers = st.dictionaries(
    st.sampled_from(["Content-Type", "x-ms-continuation-token", "Expect", "x-functions-key"]),
    st.sampled_from(["application/json", "text/plain", "", "garbage", "100-continue", "e30="]),
    max_size=3,
)


def segment(known: list[str]) -> st.SearchStrategy[str]:
    """A path segment: a known name or id, or anything (percent-encoded on the way out)."""
    return st.one_of(st.sampled_from(known), texts.filter(bool))


def send(
    base: str, method: str, path: str, query: dict[str, str], body: bytes | None, extra: Any
) -> tuple[int, bytes]:
    """One request on a fresh connection; the socket timeout fails the test on a hang."""
    address = urlsplit(base)
    target = path + ("?" + urlencode(query) if query else "")
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=ANSWER_WITHIN)
    try:
        conn.request(method, target, body=body, headers={"Connection": "close", **dict(extra)})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def path_of(*segments: str) -> str:
    """Percent-encode each segment (an encoded ``/`` stays inside its segment)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


def is_failed_status(body: bytes) -> bool:
    """A 500 that the protocol means: the status of a ``Failed`` instance."""
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("runtimeStatus") == "Failed"
