"""The in-memory durable client: HTTP starters run against the environment, no host needed."""

from __future__ import annotations

import json
from datetime import timedelta

import azure.functions as func
import pytest

import durable_functions as df
from durable_functions.errors import DurableError
from durable_functions.testing import OrchestrationTestEnv

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{name}")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.route(route="wait/{name}")
@app.durable_client_input(client_name="client")
async def http_start_and_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=60_000
    )


@app.orchestration_trigger(context_name="context")
def greet_later(context: df.DurableOrchestrationContext):
    who = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    greeting = yield context.call_activity("greet", who)
    return greeting


@app.orchestration_trigger(context_name="context")
def waits_for_ok(context: df.DurableOrchestrationContext):
    answer = yield context.wait_for_external_event("ok")
    return answer


@app.activity_trigger(input_name="who")
def greet(who: str) -> str:
    return f"Hello {who}"


@app.entity_trigger(context_name="context")
def tally(context: df.DurableEntityContext) -> None:
    context.set_state(context.get_state(lambda: 0) + context.get_input())


def request(route: str, name: str, body: object) -> func.HttpRequest:
    return func.HttpRequest(
        method="POST",
        url=f"http://localhost:7071/api/{route}/{name}",
        body=json.dumps(body).encode(),
        route_params={"name": name},
        headers={"Content-Type": "application/json"},
    )


def starter(function: object) -> object:
    return function.build().get_user_function().client_function  # type: ignore[attr-defined]


async def test_an_http_starter_answers_202_with_the_management_urls() -> None:
    env = OrchestrationTestEnv(app)

    response = await starter(http_start)(
        request("orchestrators", "greet_later", "Ada"), client=env.client()
    )

    body = json.loads(response.get_body())
    assert response.status_code == 202
    assert body["statusQueryGetUri"].startswith(
        "http://localhost:7071/runtime/webhooks/durabletask/"
    )
    assert env.result(body["id"]).input == "Ada"


async def test_waiting_for_completion_lets_virtual_time_pass() -> None:
    env = OrchestrationTestEnv(app)

    response = await starter(http_start_and_wait)(
        request("wait", "greet_later", "Bo"), client=env.client()
    )

    # As with the reference client, a str output is sent as is (not JSON-quoted).
    assert (response.status_code, response.get_body()) == (200, b"Hello Bo")


async def test_the_client_reads_status_and_raises_events() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    instance_id = await client.start_new("waits_for_ok")

    before = await client.get_status(instance_id)
    await client.raise_event(instance_id, "ok", {"fine": True})
    after = await client.get_status(instance_id)

    assert before.runtime_status == df.OrchestrationRuntimeStatus.Running
    assert (after.runtime_status, after.output) == (
        df.OrchestrationRuntimeStatus.Completed,
        {"fine": True},
    )


async def test_the_client_terminates_an_instance() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    instance_id = await client.start_new("waits_for_ok")

    await client.terminate(instance_id, "no longer needed")

    status = await client.get_status(instance_id)
    assert (status.runtime_status, status.output) == (
        df.OrchestrationRuntimeStatus.Terminated,
        "no longer needed",
    )


async def test_the_client_signals_and_reads_entities() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()

    await client.signal_entity(df.EntityId("tally", "t"), "add", 2)
    await client.signal_entity(df.EntityId("tally", "t"), "add", 3)
    state = await client.read_entity_state(df.EntityId("tally", "t"))

    assert (state.entity_exists, state.entity_state) == (True, 5)


async def test_an_unknown_instance_has_a_falsy_status() -> None:
    client = OrchestrationTestEnv(app).client()

    assert not await client.get_status("no-such-instance")


async def test_starting_an_unknown_orchestrator_raises_like_the_host_refusal() -> None:
    client = OrchestrationTestEnv(app).client()

    with pytest.raises(DurableError, match="nope"):
        await client.start_new("nope")


@app.orchestration_trigger(context_name="context")
def fails_once(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("fragile", context.get_input())
    return value


@app.activity_trigger(input_name="value")
def fragile(value: int) -> int:
    if value < 0:
        raise ValueError("negative")
    return value


async def test_the_client_lists_and_purges_instances() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    first = await client.start_new("greet_later", "a", "A")
    await client.start_new("greet_later", "b", "B")

    listed = await client.get_status_all()
    purged = await client.purge_instance_history(first)

    assert sorted(s.instance_id for s in listed) == ["a", "b"]
    assert purged.instances_deleted == 1
    assert not await client.get_status(first)


async def test_the_client_suspends_and_resumes_an_instance() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    instance_id = await client.start_new("waits_for_ok")

    await client.suspend(instance_id, "pause")
    suspended = await client.get_status(instance_id)
    await client.resume(instance_id, "go on")
    await client.raise_event(instance_id, "ok", 1)

    assert suspended.runtime_status == df.OrchestrationRuntimeStatus.Suspended
    assert (await client.get_status(instance_id)).output == 1


async def test_the_client_restarts_an_instance_under_a_new_id() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    instance_id = await client.start_new("fails_once", None, 5)

    new_id = await client.restart(instance_id)

    assert new_id != instance_id
    assert env.result(new_id).output == 5


async def test_the_client_reads_the_history_of_an_instance() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    instance_id = await client.start_new("fails_once", None, 5)

    status = await client.get_status(instance_id, show_history=True, show_history_output=True)

    kinds = [e["EventType"] for e in status.historyEvents]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]


async def test_the_client_rewinds_a_failed_instance() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    instance_id = await client.start_new("fails_once", None, -1)
    env.stub("fragile", 7)

    await client.rewind(instance_id, "fixed")

    assert (await client.get_status(instance_id)).output == 7


async def test_the_client_reads_every_page_of_a_long_list_as_from_the_host() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client(auto_run=False)
    for n in range(130):
        await client.start_new("waits_for_ok", f"i{n:03d}")

    listed = await client.get_status_all()

    assert len(listed) == 130  # the host answers 100 per page; the client follows the token


async def test_the_client_gets_the_host_refusal_for_a_finished_instance() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    instance_id = await client.start_new("waits_for_ok")
    await client.terminate(instance_id, "done")

    response = await client._post_async_request(
        f"{client._rpc_base_url}instances/{instance_id}/terminate?reason=again"
    )

    assert response[0] == 410
    assert response[1]["Message"] == f"Instance with ID '{instance_id}' is already Terminated."


async def test_the_client_lists_entities_with_their_state_across_pages() -> None:
    env = OrchestrationTestEnv(app)
    client = env.client()
    for key in ("a", "b", "c"):
        await client.signal_entity(df.EntityId("tally", key), "add", ord(key))

    everything = await client.list_entities(fetch_state=True, page_size=2)
    names_only = await client.list_entities("tally")
    later = await client.list_entities(last_operation_time_from=env.now + timedelta(hours=1))

    assert sorted((e.name, e.key, e.state) for e in everything) == [
        ("tally", "a", 97),
        ("tally", "b", 98),
        ("tally", "c", 99),
    ]
    assert [e.last_operation_time == env.now for e in everything] == [True] * 3
    assert sorted(e.key for e in names_only) == ["a", "b", "c"]
    assert {e.state for e in names_only} == {None}  # no state unless fetched
    assert names_only[0].entity_id == df.EntityId("tally", names_only[0].key)
    assert later == []
