"""The management API answers with the extension's paths, status codes, headers and bodies."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from apps.harness import Host, copy_app, launch

pytestmark = pytest.mark.e2e

WEBHOOK = "/runtime/webhooks/durabletask"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("contract")
    started = launch(copy_app("sdk_app", tmp), tmp / "hub.sqlite3")
    yield started
    started.stop()


def _waiting(host: Host) -> str:
    instance_id = host.start("wait_event")
    host.wait(instance_id, until={"Running"})
    return instance_id


# ----------------------------------------------------------------------------- start


def test_start_answers_202_with_location_retry_after_and_check_status_links(host: Host) -> None:
    reply = host.request("POST", f"{WEBHOOK}/orchestrators/chain/my-id", json_body="1")
    body = reply.json()
    assert reply.status == 202
    assert reply.headers["Retry-After"] == "10"
    assert reply.headers["Location"] == body["statusQueryGetUri"]
    assert body["id"] == "my-id"
    assert set(body) == {
        "id",
        "statusQueryGetUri",
        "sendEventPostUri",
        "terminatePostUri",
        "purgeHistoryDeleteUri",
        "restartPostUri",
        "suspendPostUri",
        "resumePostUri",
    }
    assert body["sendEventPostUri"].startswith(f"{host.base}{WEBHOOK}/instances/my-id/raiseEvent/")


def test_start_is_served_under_the_rpc_prefix_as_well(host: Host) -> None:
    reply = host.request("POST", "/durabletask/orchestrators/chain", json_body="1")
    assert reply.status == 202


def test_starting_an_unknown_orchestrator_is_a_400_naming_the_known_ones(host: Host) -> None:
    reply = host.request("POST", f"{WEBHOOK}/orchestrators/nope")
    assert reply.status == 400
    message = reply.json()["ExceptionMessage"]
    assert "nope" in message and "chain" in message and "fan_out" in message


def test_a_malformed_json_body_is_a_400_with_a_message(host: Host) -> None:
    reply = host.request(
        "POST",
        f"{WEBHOOK}/orchestrators/chain",
        body="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 400
    assert "not valid JSON" in reply.json()["Message"]


def test_starting_a_running_instance_id_again_is_rejected(host: Host) -> None:
    instance_id = _waiting(host)
    reply = host.request("POST", f"{WEBHOOK}/orchestrators/wait_event/{instance_id}")
    assert reply.status == 400


def test_start_with_timeout_waits_and_returns_the_output(host: Host) -> None:
    reply = host.request(
        "POST", f"{WEBHOOK}/orchestrators/chain?timeout=10&pollingInterval=1", json_body="3"
    )
    assert (reply.status, reply.json()) == (200, 5)


def test_start_with_timeout_returns_202_when_the_instance_is_still_running(host: Host) -> None:
    reply = host.request("POST", f"{WEBHOOK}/orchestrators/wait_event?timeout=1&pollingInterval=1")
    assert reply.status == 202
    assert reply.headers["Location"] == reply.json()["statusQueryGetUri"]


# ----------------------------------------------------------------------------- status


def test_status_of_a_running_instance_is_202_with_location_and_retry_after_5(host: Host) -> None:
    instance_id = _waiting(host)
    reply = host.status(instance_id)
    assert reply.status == 202
    assert reply.headers["Retry-After"] == "5"
    assert reply.headers["Location"].endswith(f"{WEBHOOK}/instances/{instance_id}")


def test_status_of_a_completed_instance_is_200_with_the_payload_fields(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    reply = host.status(instance_id)
    body = reply.json()
    assert reply.status == 200
    assert set(body) == {
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    }
    assert (body["name"], body["input"], body["output"]) == ("chain", "1", 3)
    assert body["createdTime"].endswith("Z") and len(body["createdTime"]) == 20


def test_status_of_an_unknown_instance_is_404(host: Host) -> None:
    assert host.status("does-not-exist").status == 404


def test_a_failed_instance_is_500_when_asked_to_return_server_errors(host: Host) -> None:
    instance_id = host.start("failing")
    host.wait(instance_id)
    assert host.status(instance_id).status == 200
    assert host.status(instance_id, "?returnInternalServerErrorOnFailure=true").status == 500


def test_show_input_false_hides_the_input(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    assert host.status(instance_id, "?showInput=false").json()["input"] is None


def test_show_history_returns_the_simplified_history(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    events = host.status(instance_id, "?showHistory=true").json()["historyEvents"]
    kinds = [e["EventType"] for e in events]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"]
    assert events[0]["FunctionName"] == "chain"
    assert events[1]["FunctionName"] == "add_one" and "ScheduledTime" in events[1]
    assert "Result" not in events[1] and "EventId" not in events[1]
    assert events[3]["OrchestrationStatus"] == "Completed"


def test_show_history_output_embeds_results_as_json(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    query = "?showHistory=true&showHistoryOutput=true"
    events = host.status(instance_id, query).json()["historyEvents"]
    assert [e.get("Result") for e in events[1:]] == [2, 3, 3]


def test_raw_history_returns_every_event_with_numeric_event_types(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    reply = host.request("GET", f"/durabletask/instances/{instance_id}/history/raw")
    body = reply.json()
    assert reply.status == 200 and body["name"] == "chain"
    kinds = [e["EventType"] for e in body["history"]]
    assert kinds[:2] == [12, 0] and kinds.count(4) == 2 and kinds[-2:] == [1, 13]


def test_raw_history_of_an_unknown_instance_is_404(host: Host) -> None:
    assert host.request("GET", "/durabletask/instances/nope/history/raw").status == 404


# ----------------------------------------------------------------------------- list


def test_list_filters_by_prefix_and_status(host: Host) -> None:
    ids = [host.start("chain", i, instance_id=f"listing-{i}") for i in range(3)]
    for instance_id in ids:
        host.wait(instance_id)
    reply = host.request(
        "GET", f"{WEBHOOK}/instances?instanceIdPrefix=listing-&runtimeStatus=Completed"
    )
    assert sorted(i["instanceId"] for i in reply.json()) == ids
    none = host.request(
        "GET", f"{WEBHOOK}/instances?instanceIdPrefix=listing-&runtimeStatus=Failed"
    )
    assert none.json() == []


def test_list_pages_with_top_and_the_continuation_header(host: Host) -> None:
    ids = [host.start("chain", i, instance_id=f"paging-{i}") for i in range(5)]
    seen: list[str] = []
    token = None
    for _ in range(10):
        headers = {"x-ms-continuation-token": token} if token else {}
        reply = host.request(
            "GET", f"{WEBHOOK}/instances?instanceIdPrefix=paging-&top=2", headers=headers
        )
        assert len(reply.json()) <= 2
        seen.extend(i["instanceId"] for i in reply.json())
        token = reply.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(seen) == sorted(ids)


def test_list_with_an_unknown_runtime_status_is_a_400(host: Host) -> None:
    assert host.request("GET", f"{WEBHOOK}/instances?runtimeStatus=Sleeping").status == 400


# ----------------------------------------------------------------------------- purge


def test_purging_an_instance_deletes_it(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    reply = host.request("DELETE", f"{WEBHOOK}/instances/{instance_id}")
    assert (reply.status, reply.json()) == (200, {"instancesDeleted": 1})
    assert host.status(instance_id).status == 404
    assert host.request("DELETE", f"{WEBHOOK}/instances/{instance_id}").status == 404


def test_purging_by_filter_requires_created_time_from(host: Host) -> None:
    assert host.request("DELETE", f"{WEBHOOK}/instances?runtimeStatus=Completed").status == 400


def test_purging_by_filter_deletes_the_matching_instances(host: Host) -> None:
    instance_id = host.start("failing")
    host.wait(instance_id)
    reply = host.request(
        "DELETE", f"{WEBHOOK}/instances?createdTimeFrom=2000-01-01T00:00:00Z&runtimeStatus=Failed"
    )
    assert reply.status == 200 and reply.json()["instancesDeleted"] >= 1
    assert host.status(instance_id).status == 404


# ----------------------------------------------------------------------------- raise event


def test_raise_event_for_an_unknown_instance_is_404(host: Host) -> None:
    reply = host.request("POST", f"{WEBHOOK}/instances/nope/raiseEvent/x", json_body=1)
    assert reply.status == 404


def test_raise_event_for_a_completed_instance_is_410_before_content_checks(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    reply = host.request(
        "POST",
        f"{WEBHOOK}/instances/{instance_id}/raiseEvent/x",
        body="x",
        headers={"Content-Type": "text/plain"},
    )
    assert reply.status == 410


def test_raise_event_without_json_content_type_is_400(host: Host) -> None:
    instance_id = _waiting(host)
    reply = host.request(
        "POST",
        f"{WEBHOOK}/instances/{instance_id}/raiseEvent/approve",
        body="1",
        headers={"Content-Type": "text/plain"},
    )
    assert reply.status == 400
    assert "application/json" in reply.json()["Message"]


def test_raise_event_with_invalid_json_is_400(host: Host) -> None:
    instance_id = _waiting(host)
    reply = host.request(
        "POST",
        f"{WEBHOOK}/instances/{instance_id}/raiseEvent/approve",
        body="{",
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 400


# ----------------------------------------------------------------------------- control


def test_terminate_ends_the_instance_with_the_reason_as_output(host: Host) -> None:
    instance_id = _waiting(host)
    reply = host.request("POST", f"{WEBHOOK}/instances/{instance_id}/terminate?reason=enough")
    assert reply.status == 202
    status = host.wait(instance_id)
    assert (status["runtimeStatus"], status["output"]) == ("Terminated", "enough")


def test_terminate_of_a_finished_instance_is_410_and_of_an_unknown_one_404(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    assert host.request("POST", f"{WEBHOOK}/instances/{instance_id}/terminate").status == 410
    assert host.request("POST", f"{WEBHOOK}/instances/nope/terminate").status == 404


def test_a_suspended_instance_keeps_events_until_resumed(host: Host) -> None:
    instance_id = _waiting(host)
    assert host.request("POST", f"{WEBHOOK}/instances/{instance_id}/suspend?reason=r").status == 202
    host.wait(instance_id, until={"Suspended"})
    host.request("POST", f"{WEBHOOK}/instances/{instance_id}/raiseEvent/approve", json_body="yes")
    assert host.status(instance_id).json()["runtimeStatus"] == "Suspended"
    assert host.request("POST", f"{WEBHOOK}/instances/{instance_id}/resume?reason=r").status == 202
    assert host.wait(instance_id)["output"] == {"approved": "yes"}


def test_rewind_of_an_instance_that_did_not_fail_is_410(host: Host) -> None:
    instance_id = host.start("chain", 1)
    host.wait(instance_id)
    assert host.request("POST", f"{WEBHOOK}/instances/{instance_id}/rewind").status == 410


def test_restart_with_a_new_id_runs_the_same_input_again(host: Host) -> None:
    instance_id = host.start("chain", 10)
    host.wait(instance_id)
    reply = host.request("POST", f"{WEBHOOK}/instances/{instance_id}/restart")
    assert reply.status == 202
    new_id = reply.json()["id"]
    assert new_id != instance_id
    assert host.wait(new_id)["output"] == 12


def test_restart_with_the_same_id_replaces_the_finished_instance(host: Host) -> None:
    instance_id = host.start("chain", 20)
    host.wait(instance_id)
    reply = host.request(
        "POST", f"{WEBHOOK}/instances/{instance_id}/restart?restartWithNewInstanceId=false"
    )
    assert reply.json()["id"] == instance_id
    assert host.wait(instance_id)["output"] == 22


def test_restart_of_an_unknown_instance_is_400(host: Host) -> None:
    assert host.request("POST", f"{WEBHOOK}/instances/nope/restart").status == 400


# ----------------------------------------------------------------------------- entities


def _entity_state(host: Host, key: str, expected: object) -> object:
    deadline = time.monotonic() + 10
    reply = None
    while time.monotonic() < deadline:
        reply = host.request("GET", f"{WEBHOOK}/entities/counter/{key}")
        if reply.status == 200 and reply.json() == expected:
            return reply.json()
        time.sleep(0.05)
    raise AssertionError(reply.body if reply else None)


def test_signalling_an_entity_over_http_updates_its_state(host: Host) -> None:
    for _ in range(3):
        reply = host.request(
            "POST", f"{WEBHOOK}/entities/counter/http?op=add", json_body=json.dumps(2)
        )
        assert reply.status == 202
    assert _entity_state(host, "http", 6) == 6


def test_an_entity_that_never_ran_is_404(host: Host) -> None:
    assert host.request("GET", f"{WEBHOOK}/entities/counter/never").status == 404


def test_signal_without_an_operation_is_400(host: Host) -> None:
    assert host.request("POST", f"{WEBHOOK}/entities/counter/k", json_body="1").status == 400


def test_deleting_an_entity_signals_delete_and_removes_it(host: Host) -> None:
    host.request("POST", f"{WEBHOOK}/entities/counter/gone?op=add", json_body=json.dumps(1))
    _entity_state(host, "gone", 1)
    assert host.request("DELETE", f"{WEBHOOK}/entities/counter/gone").status == 202
    deadline = time.monotonic() + 10
    while host.request("GET", f"{WEBHOOK}/entities/counter/gone").status != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_listing_entities_of_a_name_returns_ids_and_optionally_state(host: Host) -> None:
    host.request("POST", f"{WEBHOOK}/entities/counter/listed?op=add", json_body=json.dumps(7))
    _entity_state(host, "listed", 7)
    reply = host.request("GET", f"{WEBHOOK}/entities/counter?fetchState=true")
    listed = [e for e in reply.json() if e["entityId"] == {"name": "counter", "key": "listed"}]
    assert reply.status == 200 and listed[0]["state"] == 7


# ----------------------------------------------------------------------------- robustness


def test_an_unknown_management_route_is_404(host: Host) -> None:
    assert host.request("GET", f"{WEBHOOK}/nothing/here").status == 404


def test_the_host_survives_a_garbage_request(host: Host) -> None:
    address = urlsplit(host.base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    assert host.status("does-not-exist").status == 404
