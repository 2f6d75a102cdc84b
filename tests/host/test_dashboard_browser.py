"""The dashboard in real headless Chromium against a host running ``apps/sdk_app``.

One host and one browser for the module. Every screenshot is saved (see
``browser.screenshots_dir``) so a person can look at what the tests saw.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from apps.harness import Host, running_host
from browser import chromium_path, screenshots_dir, unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
API = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with running_host(tmp_path_factory.mktemp("dashboard")) as running:  # one host for the module
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    # A refused request (4xx) is the page working as meant; any other console error is not.
    opened.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    opened.set_default_timeout(15_000)
    yield opened
    target = screenshots_dir(tmp_path_factory.getbasetemp() / "screenshots")
    opened.screenshot(path=str(target / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], errors  # no script error, no CSP violation


@pytest.fixture(scope="module")
def instances(host: Host) -> dict[str, str]:
    """A completed, a running and a failed instance, and a parent with a child."""
    ids = {
        "completed": host.start("chain", 3, instance_id="dash-done"),
        "running": host.start("wait_event", instance_id="dash-wait"),
        "failed": host.start("failing", 1, instance_id="dash-fail"),
        "parent": host.start("parent", 2, instance_id="dash-parent"),
    }
    for key, instance_id in ids.items():
        host.wait(instance_id, until={"Running"} if key == "running" else None)
    return ids


def row(page: Any, instance_id: str) -> Any:
    return page.locator(f'#instance-rows tr[data-instance="{instance_id}"]')


def test_the_list_shows_each_instance_with_its_status(
    host: Host, page: Any, instances: dict[str, str]
) -> None:
    page.goto(f"{host.base}/dashboard/?prefix=dash-")

    for key, status in [("completed", "Completed"), ("running", "Running"), ("failed", "Failed")]:
        cells = row(page, instances[key]).locator("td")
        assert cells.nth(2).inner_text() == status
        assert cells.nth(2).locator(f".status.s-{status}").count() == 1
    assert row(page, instances["completed"]).locator("td").nth(1).inner_text() == "chain"
    # Newest first: the parent's child, started last, leads.
    assert page.locator("#instance-rows tr").count() == 5
    assert page.locator("#instance-rows tr").first.get_attribute("data-instance") == (
        "dash-parent:0000000000000000"
    )


def test_filters_narrow_the_list_and_survive_the_refresh(
    host: Host, page: Any, instances: dict[str, str]
) -> None:
    page.goto(f"{host.base}/dashboard/")
    page.locator("label.chip", has_text="Failed").click()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"status=Failed"))
    row(page, instances["failed"]).wait_for()
    shown = page.locator("#instance-rows tr").evaluate_all(
        "rows => rows.map(r => r.children[2].textContent)"
    )
    assert set(shown) == {"Failed"}

    page.goto(f"{host.base}/dashboard/?name=CHAIN&prefix=dash-d")
    row(page, instances["completed"]).wait_for()
    assert page.locator("#instance-rows tr").count() == 1
    page.wait_for_timeout(3500)  # one live refresh later the filters still hold
    assert page.locator("#instance-rows tr").count() == 1
    assert page.locator("input[name=prefix]").input_value() == "dash-d"

    page.goto(f"{host.base}/dashboard/?from=2999-01-01T00:00")
    page.get_by_text("No instances match these filters.").wait_for()


def test_the_list_pages_with_continuation_tokens(
    host: Host, page: Any, instances: dict[str, str]
) -> None:
    page.goto(f"{host.base}/dashboard/?prefix=dash-&top=2")  # not offered, but accepted
    page.locator("#instance-rows tr").nth(1).wait_for()
    seen = []
    for _ in range(3):
        page.locator("#instance-rows tr[data-instance]").first.wait_for()
        seen += page.locator("#instance-rows tr").evaluate_all(
            "rows => rows.map(r => r.dataset.instance)"
        )
        if page.locator("#next-page").is_disabled():
            break
        last = page.locator(f'#instance-rows tr[data-instance="{seen[-1]}"]')
        page.locator("#next-page").click()
        last.wait_for(state="detached")
    assert len(seen) == len(set(seen)) == 5


def test_the_deep_link_shows_the_history_and_the_timeline(
    host: Host, page: Any, instances: dict[str, str]
) -> None:
    page.goto(f"{host.base}/dashboard/instances/{instances['completed']}")
    page.locator("#history tbody tr").first.wait_for()

    events = page.locator("#history tbody tr").evaluate_all(
        "rows => rows.map(r => [r.children[1].textContent, r.children[2].textContent])"
    )
    names = [e[0] for e in events]
    assert names[:3] == ["OrchestratorStarted", "ExecutionStarted", "TaskScheduled"]
    assert {"TaskCompleted", "ExecutionCompleted"} <= set(names)
    assert ["TaskScheduled", "add_one"] in events and ["TaskCompleted", "add_one"] in events
    assert page.locator("#runtime-status").inner_text() == "Completed"
    assert page.locator(".gantt .bar.activity").count() == names.count("TaskScheduled")


def test_a_failed_instance_shows_its_failure(
    host: Host, page: Any, instances: dict[str, str]
) -> None:
    page.goto(f"{host.base}/dashboard/instances/{instances['failed']}")
    failure = page.locator("#failure")
    failure.wait_for()
    assert "the orchestrator exploded" in failure.inner_text()


def test_parent_and_child_link_to_each_other(
    host: Host, page: Any, instances: dict[str, str]
) -> None:
    page.goto(f"{host.base}/dashboard/instances/{instances['parent']}")
    page.locator(".gantt .bar.sub").wait_for()
    child = "dash-parent:0000000000000000"
    page.locator(f'dd a[href="/dashboard/instances/{child.replace(":", "%3A")}"]').click()
    page.wait_for_url(re.compile("0000000000000000$"))
    page.get_by_role("heading", name=re.compile("chain")).wait_for()
    assert page.locator("dd a", has_text="dash-parent").first.inner_text() == "dash-parent"


def _confirm(page: Any, **fields: str) -> None:
    dialog = page.locator("dialog#confirm")
    dialog.wait_for()
    for name, value in fields.items():
        dialog.locator(f"[name={name}]").fill(value)
    dialog.locator("#confirm-ok").click()


def test_raise_event_from_the_page_completes_the_instance(host: Host, page: Any) -> None:
    instance_id = host.start("wait_event", instance_id="act-raise")
    host.wait(instance_id, until={"Running"})
    page.goto(f"{host.base}/dashboard/instances/{instance_id}")

    page.locator("[data-action=raise-event]").click()
    _confirm(page, name="approve", data='{"ok": true}')

    page.locator("#action-answer").get_by_text("Raise event: the host answered 202").wait_for()
    assert host.wait(instance_id)["output"] == {"approved": {"ok": True}}
    page.locator("#runtime-status", has_text="Completed").wait_for()
    assert page.locator("#history", has_text="EventRaised").count() == 1


def test_cancelling_the_confirmation_changes_nothing(host: Host, page: Any) -> None:
    instance_id = host.start("wait_event", instance_id="act-cancel")
    host.wait(instance_id, until={"Running"})
    page.goto(f"{host.base}/dashboard/instances/{instance_id}")

    page.locator("[data-action=terminate]").click()
    page.keyboard.press("Escape")

    page.wait_for_timeout(500)
    assert host.status(instance_id).json()["runtimeStatus"] == "Running"


def test_terminate_then_purge_from_the_page(host: Host, page: Any) -> None:
    instance_id = host.start("wait_event", instance_id="act-term")
    host.wait(instance_id, until={"Running"})
    page.goto(f"{host.base}/dashboard/instances/{instance_id}")

    page.locator("[data-action=terminate]").click()
    _confirm(page, reason="from the dashboard")
    assert host.wait(instance_id)["output"] == "from the dashboard"
    page.locator("#runtime-status", has_text="Terminated").wait_for()

    page.locator("[data-action=purge]").click()
    _confirm(page)
    page.locator("#action-answer").get_by_text("Purge: the host answered 200").wait_for()
    assert host.status(instance_id).status == 404
    page.get_by_text(f"No instance with ID '{instance_id}' found.").wait_for()


def test_a_refused_action_shows_the_hosts_message(host: Host, page: Any) -> None:
    instance_id = host.start("chain", 1, instance_id="act-refuse")
    host.wait(instance_id)
    page.goto(f"{host.base}/dashboard/instances/{instance_id}")

    page.locator("[data-action=raise-event]").click()
    _confirm(page, name="late", data="1")

    answer = page.locator("#action-answer")
    answer.get_by_text(re.compile(r"Raise event refused \(410\)")).wait_for()


def test_the_entities_page_shows_a_counters_state_and_signals_it(host: Host, page: Any) -> None:
    reply = host.request("POST", f"{API}/entities/counter/dash?op=add", json_body=5)
    assert reply.status == 202
    page.goto(f"{host.base}/dashboard/entities?name=counter")
    entity = page.locator('#entity-rows tr[data-entity="counter@dash"]')
    entity.locator("pre", has_text="5").wait_for()

    entity.locator("[data-action=signal]").click()
    _confirm(page, op="add", input="2")

    entity.locator("pre", has_text="7").wait_for()
    assert host.request("GET", f"{API}/entities/counter/dash").json() == 7


def test_the_functions_page_lists_triggers_and_urls(host: Host, page: Any) -> None:
    page.goto(f"{host.base}/dashboard/functions")
    page.get_by_role("cell", name="hello", exact=True).wait_for()
    text = page.locator("main table").inner_text()
    assert f"{host.base}/api/hello/{{name?}}" in text
    assert "orchestrationTrigger" in text and "entityTrigger" in text


def test_the_pages_are_keyboard_navigable(host: Host, page: Any, instances: dict[str, str]) -> None:
    page.goto(f"{host.base}/dashboard/?prefix=dash-done")
    row(page, instances["completed"]).wait_for()
    link = row(page, instances["completed"]).locator("a")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/dashboard/instances/dash-done$"))
    page.locator("#history").wait_for()
    # Focus moved to the new page's content: one Tab reaches its first link.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "← All instances"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/dashboard/$"))
    row(page, instances["failed"]).wait_for()


class _EvilSite(http.server.BaseHTTPRequestHandler):
    """Another origin: its page tries to terminate an instance on the host."""

    target = ""

    def do_GET(self) -> None:  # noqa: N802 (the handler's name)
        body = f"""<!doctype html><title>evil</title>
<form id="f" method="POST" action="{self.target}"></form>
<script>
fetch("{self.target}", {{method: "POST", mode: "no-cors"}})
  .then(() => {{ document.title = "sent"; }}, () => {{ document.title = "sent"; }});
</script>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_cross_origin_page_cannot_drive_an_action(browser: Any, host: Host) -> None:
    instance_id = host.start("wait_event", instance_id="act-csrf")
    host.wait(instance_id, until={"Running"})
    _EvilSite.target = f"{host.base}{API}/instances/{instance_id}/terminate?reason=evil"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EvilSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.wait_for_function("document.title === 'sent'")
        with page.expect_navigation():
            page.evaluate("document.getElementById('f').submit()")  # a classic form post
        assert "another origin" in page.content()
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    assert host.status(instance_id).json()["runtimeStatus"] == "Running"


def test_a_live_update_keeps_the_scroll_position_and_the_filters(host: Host, page: Any) -> None:
    ids = [host.start("wait_event", instance_id=f"scroll-{n}") for n in range(8)]
    for instance_id in ids:
        host.wait(instance_id, until={"Running"})
    page.set_viewport_size({"width": 1000, "height": 420})
    page.goto(f"{host.base}/dashboard/?prefix=scroll-&status=Running,Terminated")
    row(page, ids[0]).wait_for()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 100

    reply = host.request("POST", f"{API}/instances/{ids[0]}/terminate?reason=live")
    assert reply.status == 202
    row(page, ids[0]).locator(".status.s-Terminated").wait_for()

    assert page.evaluate("window.scrollY") == scrolled
    assert page.locator("#instance-rows tr").count() == 8
    assert page.locator("label.chip:has(input:checked)").all_inner_texts() == [
        "Running",
        "Terminated",
    ]


def test_the_dashboard_works_on_a_host_that_requires_keys(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With ``--require-keys`` the management API wants a key; the dashboard, served to this
    machine, uses the local ``/durabletask`` prefix, which does not."""
    folder = tmp_path_factory.mktemp("dashboard-keys")
    with running_host(folder, args=("--require-keys",)) as keyed:
        started = keyed.request("POST", "/durabletask/orchestrators/chain/dash-keyed", json_body=2)
        assert started.status == 202, started.body
        assert keyed.request("GET", f"{API}/instances/dash-keyed").status == 401
        context = browser.new_context()
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{keyed.base}/dashboard/?prefix=dash-keyed")
            row(page, "dash-keyed").wait_for()
            page.goto(f"{keyed.base}/dashboard/instances/dash-keyed")
            page.get_by_text("ExecutionStarted").first.wait_for()
        finally:
            context.close()
