"""Property: the generated app's starters answer every request below 500, in time, on the host.

The template is rendered once (anonymous HTTP functions, with the entity), the app is
run by ``durable start`` (its vendored SDK), and Hypothesis sends its HTTP API odd
names, keys and bodies (deep JSON, NaN, invalid UTF-8, wrong shapes). Afterwards a
valid start must still go through.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz_kit import bodies, headers, path_of, segment, send
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from template_kit import Render

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_BANNER = re.compile(r"Durable management API: (http://127\.0\.0\.1:\d+)/")
STARTABLE = ["hello_chain", "fan_out_fan_in", "approval_workflow", "job_monitor"]


@pytest.fixture(scope="module")
def app_host(render: Render, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``durable start`` serving a fresh copy of the rendered app."""
    tmp = tmp_path_factory.mktemp("fuzz-app")
    app = shutil.copytree(render("cookiecutter", http_auth_level="anonymous"), tmp / "app")
    log = tmp / "host.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TASKHUB_NAME": "FuzzHub"}
    command = [sys.executable, "-m", "durable_functions", "start", "--port", "0"]
    with open(log, "wb") as out:
        host = subprocess.Popen(command, cwd=app, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (found := _BANNER.search(log.read_text(errors="replace"))):
            assert host.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield found.group(1)
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text()[-4000:]
    finally:
        host.terminate()
        host.wait(30)


@st.composite
def starter_requests(draw: st.DrawFn) -> tuple[str, str, bytes | None, dict]:
    route = draw(
        st.sampled_from(
            [
                ("POST", ("api", "orchestrators", segment(STARTABLE + ["counter_workflow"]))),
                ("GET", ("api", "counters", segment(["demo", "$"]))),
                ("POST", ("api", "counters", segment(["demo"]), st.just("add"))),
            ]
        )
    )
    method, parts = route
    method = draw(st.sampled_from([method, method, "PUT", "DELETE"]))
    path = path_of(*(part if isinstance(part, str) else draw(part) for part in parts))
    return method, path, draw(bodies), draw(headers)


def test_no_starter_request_gets_a_5xx_or_hangs_and_the_app_serves_after(app_host: str) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(request=starter_requests())
    def one_request(request: tuple[str, str, bytes | None, dict]) -> None:
        method, path, body, extra = request
        status, answer = send(app_host, method, path, {}, body, extra)
        assert status < 500, (method, path, body, status, answer[:300])

    one_request()

    status, answer = send(app_host, "POST", "/api/orchestrators/hello_chain", {}, b'["Oslo"]', {})
    assert status == 202, answer
