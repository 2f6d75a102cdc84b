"""Property: no request to the management API gets a 5xx or hangs, and the host serves after.

Hypothesis builds requests over every management route (both prefixes, any method)
with odd path segments, query values (NaN, huge numbers, bad dates, unknown
statuses), headers and bodies (deep JSON, NaN, invalid UTF-8). The run is bounded
by its number of examples; each answer must come within ``ANSWER_WITHIN`` seconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apps.harness import Host, copy_app, launch
from fuzz_kit import bodies, headers, is_failed_status, path_of, segment, send, texts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.e2e

KNOWN_ID = "fuzz-known"
# Orchestrators safe to start with any input (no fan-out sized by the input, no outbound HTTP).
ORCHESTRATORS = ["chain", "failing", "wait_event"]
ROUTES = [
    ("orchestrators", "{name}"),
    ("orchestrators", "{name}", "{id}"),
    ("instances",),
    ("instances", "{id}"),
    ("instances", "{id}", "history", "raw"),
    ("instances", "{id}", "raiseEvent", "{event}"),
    ("instances", "{id}", "terminate"),
    ("instances", "{id}", "suspend"),
    ("instances", "{id}", "resume"),
    ("instances", "{id}", "rewind"),
    ("instances", "{id}", "restart"),
    ("entities",),
    ("entities", "{name}"),
    ("entities", "{name}", "{key}"),
    ("nowhere",),
]
QUERY_KEYS = [
    "timeout",
    "pollingInterval",
    "top",
    "taskHub",
    "showHistory",
    "showHistoryOutput",
    "showInput",
    "createdTimeFrom",
    "createdTimeTo",
    "runtimeStatus",
    "instanceIdPrefix",
    "reason",
    "op",
    "restartWithNewInstanceId",
    "returnInternalServerErrorOnFailure",
    "version",
    "fetchState",
    "lastOperationTimeFrom",
    "code",
]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("fuzz")
    started = launch(copy_app("sdk_app", tmp), tmp / "hub.sqlite3")
    started.start("chain", 1, KNOWN_ID)
    try:
        yield started
    finally:
        started.stop()


@st.composite
def management_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes | None, dict]:
    route = draw(st.sampled_from(ROUTES))
    values = {
        "{name}": segment(ORCHESTRATORS + ["counter"]),
        "{id}": segment([KNOWN_ID, "missing"]),
        "{event}": segment(["approval"]),
        "{key}": segment(["k", "$"]),
    }
    parts = [draw(values[part]) if part in values else part for part in route]
    prefix = draw(st.sampled_from([("runtime", "webhooks", "durabletask"), ("durabletask",)]))
    method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD", "PATCH"]))
    query = draw(st.dictionaries(st.sampled_from(QUERY_KEYS), texts, max_size=4))
    return method, path_of(*prefix, *parts), query, draw(bodies), draw(headers)


def test_no_management_request_gets_a_5xx_or_hangs_and_the_host_serves_after(
    host: Host,
) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(request=management_requests())
    def one_request(request: tuple[str, str, dict[str, str], bytes | None, dict]) -> None:
        method, path, query, body, extra = request
        status, answer = send(host.base, method, path, query, body, extra)
        assert status < 500 or is_failed_status(answer), (method, path, query, status, answer)

    one_request()

    assert host.request("GET", "/").status == 200
    instance_id = host.start("chain", 1)
    assert host.wait(instance_id)["output"] == 3
    assert "Traceback" not in host.tail(5000), host.tail(80)
