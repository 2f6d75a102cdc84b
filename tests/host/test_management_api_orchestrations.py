"""The host runs orchestrations end to end, for an app on this SDK and one on Microsoft's."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from apps.harness import Host, copy_app, launch

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["sdk_app", "ref_app"])
def host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp(request.param)
    app_dir = copy_app(request.param, tmp)
    started = launch(app_dir, tmp / "hub.sqlite3", env={"MARKER_DIR": str(tmp)})
    yield started
    started.stop()


def test_a_chain_of_activities_completes_with_the_last_result(host: Host) -> None:
    instance_id = host.start("chain", 5)
    status = host.wait(instance_id)
    assert (status["runtimeStatus"], status["output"]) == ("Completed", 7)


def test_a_fan_out_runs_every_activity_and_aggregates(host: Host) -> None:
    instance_id = host.start("fan_out", 20)
    assert host.wait(instance_id)["output"] == sum(range(1, 21))


def test_async_activities_run_on_the_event_loop_and_aggregate(host: Host) -> None:
    instance_id = host.start("fan_out_async", 20)
    assert host.wait(instance_id)["output"] == sum(range(1, 21))


def test_a_sub_orchestration_result_reaches_the_parent(host: Host) -> None:
    instance_id = host.start("parent", 1)
    assert host.wait(instance_id)["output"] == 30


def test_an_activity_retried_with_retry_options_eventually_succeeds(host: Host) -> None:
    instance_id = host.start("retrying")
    status = host.wait(instance_id)
    assert status["output"] == "succeeded after 3 attempts"


def test_continue_as_new_restarts_with_the_new_input_until_done(host: Host) -> None:
    instance_id = host.start("continue_counter", 0)
    assert host.wait(instance_id)["output"] == 3


def test_a_durable_timer_fires_after_its_delay(host: Host) -> None:
    instance_id = host.start("timer", 1)
    running = host.wait(instance_id, until={"Running"})
    assert running["runtimeStatus"] == "Running"
    status = host.wait(instance_id, timeout=15)
    assert status["output"] == "fired"


def test_an_entity_called_from_an_orchestration_answers_after_a_signal(host: Host) -> None:
    instance_id = host.start("counter_calls", "from-orchestration")
    assert host.wait(instance_id)["output"] == 5


def test_a_raised_event_completes_the_waiting_orchestration(host: Host) -> None:
    instance_id = host.start("wait_event")
    status = host.wait(instance_id, until={"Running"})
    assert status["customStatus"] in (None, "waiting")
    reply = host.request(
        "POST",
        f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/approve",
        json_body={"by": "me"},
    )
    assert reply.status == 202
    assert host.wait(instance_id)["output"] == {"approved": {"by": "me"}}


def test_an_orchestrator_that_raises_ends_failed_with_its_error(host: Host) -> None:
    instance_id = host.start("failing")
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "the orchestrator exploded" in status["output"]
    assert status["output"].startswith("Orchestrator function 'failing' failed:")


@pytest.fixture(scope="module", params=["sdk_app", "ref_app"])
def replaying_host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Host]:
    """A host that replays every episode (``extendedSessionsEnabled: false``).

    Apps on the reference SDK always replay; an app on this SDK runs in sessions by
    default, where code that changes its decisions between runs is never re-run.
    """
    tmp = tmp_path_factory.mktemp(f"replaying-{request.param}")
    app_dir = copy_app(request.param, tmp)
    settings = json.loads((app_dir / "host.json").read_text())
    settings["extensions"]["durableTask"]["extendedSessionsEnabled"] = False
    (app_dir / "host.json").write_text(json.dumps(settings))
    started = launch(app_dir, tmp / "hub.sqlite3", env={"MARKER_DIR": str(tmp)})
    yield started
    started.stop()


def test_a_non_deterministic_replay_ends_failed_with_the_nondeterminism_text(
    replaying_host: Host,
) -> None:
    instance_id = replaying_host.start("nondeterministic")
    status = replaying_host.wait(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "Non-deterministic" in status["output"]


def test_an_http_starter_using_the_client_binding_returns_check_status_links(host: Host) -> None:
    reply = host.request("POST", "/api/orchestrators/chain", json_body=1)
    assert reply.status == 202
    body = reply.json()
    assert body["statusQueryGetUri"].startswith(host.base + "/runtime/webhooks/durabletask/")
    assert reply.headers["Location"] == body["statusQueryGetUri"]
    assert host.wait(body["id"])["output"] == 3


def test_the_client_binding_waits_for_completion_and_returns_the_output(host: Host) -> None:
    reply = host.request("POST", "/api/run/chain", json_body=40)
    assert (reply.status, reply.json()) == (200, 42)


def test_the_client_binding_reads_status_through_the_rpc_endpoint(host: Host) -> None:
    instance_id = host.start("chain", 0)
    host.wait(instance_id)
    reply = host.request("GET", f"/api/status/{instance_id}")
    assert reply.json() == {"runtimeStatus": "Completed", "output": 2}


def test_a_rewound_instance_retries_its_failed_activity_and_completes(host: Host) -> None:
    instance_id = host.start("fails_once")
    assert host.wait(instance_id)["runtimeStatus"] == "Failed"
    reply = host.request(
        "POST", f"/runtime/webhooks/durabletask/instances/{instance_id}/rewind?reason=again"
    )
    assert reply.status == 202
    status = host.wait(instance_id)
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "second attempt works")


def test_the_host_logged_no_internal_error(host: Host) -> None:
    assert "internal error" not in host.log.read_text()


def test_a_durable_http_call_returns_the_status_and_content(host: Host) -> None:
    instance_id = host.start("http_call", f"{host.base}/api/hello/http")
    status = host.wait(instance_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["statusCode"] == 200
    assert status["output"]["content"] == "hello http"


def test_rewinding_a_parent_rewinds_its_failed_sub_orchestration(host: Host) -> None:
    instance_id = host.start("parent_of_fails_once")
    failed = host.wait(instance_id)
    assert failed["runtimeStatus"] == "Failed"
    reply = host.request("POST", f"/runtime/webhooks/durabletask/instances/{instance_id}/rewind")
    assert reply.status == 202
    status = host.wait(instance_id)
    assert status["output"] == "child said: second attempt works", status


def test_the_start_version_reaches_the_orchestrator(host: Host) -> None:
    reply = host.request(
        "POST", "/runtime/webhooks/durabletask/orchestrators/version_of?version=2.0"
    )
    assert host.wait(reply.json()["id"])["output"] == "2.0"
