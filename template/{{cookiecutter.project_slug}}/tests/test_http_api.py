"""The HTTP functions, called with an in-memory durable client (no host needed)."""

import asyncio
import json

import azure.functions as func
import pytest

import http_api


def request(method: str, route: str, route_params: dict[str, str], body: bytes = b""):
    return func.HttpRequest(
        method=method, url=f"http://localhost/api/{route}", body=body, route_params=route_params
    )


def start(client, function_name: str, body: bytes = b"") -> func.HttpResponse:
    handler = http_api.start_orchestration.build().get_user_function().client_function
    route = f"orchestrators/{function_name}"
    return asyncio.run(
        handler(request("POST", route, {"functionName": function_name}, body), client)
    )


def test_starting_a_known_orchestration_answers_202_with_status_urls(durable_client) -> None:
    response = start(durable_client, "hello_chain")
    assert response.status_code == 202
    assert {"id", "statusQueryGetUri", "sendEventPostUri"} <= set(json.loads(response.get_body()))


def test_the_json_body_becomes_the_orchestration_input(durable_env, durable_client) -> None:
    instance_id = json.loads(start(durable_client, "fan_out_fan_in", b"[1, 2]").get_body())["id"]
    result = durable_env.run_until_complete(instance_id)
    assert result.output == {"squares": [1, 4], "sum": 5}


def test_an_unknown_orchestration_is_refused_with_404(durable_env, durable_client) -> None:
    response = start(durable_client, "drop_tables")
    assert (response.status_code, durable_env.instance_ids()) == (404, [])


@pytest.mark.parametrize(
    "body", [b"{not json", b"NaN", b"[Infinity]", b"[" * 100_000 + b"]" * 100_000]
)
def test_a_body_that_is_not_json_is_refused_with_400(durable_env, durable_client, body) -> None:
    response = start(durable_client, "hello_chain", body)
    assert (response.status_code, durable_env.instance_ids()) == (400, [])


# Valid JSON of the wrong shape is refused before anything starts, saying what is expected.
BAD_INPUTS = [
    pytest.param("hello_chain", b"42", "a JSON list of city names", id="hello_chain-number"),
    pytest.param("hello_chain", b'["Paris", 7]', "list of city names", id="hello_chain-mixed"),
    pytest.param("fan_out_fan_in", b'"abc"', "a JSON list of numbers", id="fan_out-string"),
    pytest.param("fan_out_fan_in", b"[1, true]", "a JSON list of numbers", id="fan_out-bool"),
    pytest.param("greet_and_sum", b'{"numbers": ["2"]}', "numbers", id="greet_and_sum-text"),
    pytest.param(
        "approval_workflow", b'{"timeout_seconds": "soon"}', "timeout_seconds", id="approval-text"
    ),
    pytest.param("approval_workflow", b"[300]", "a JSON object", id="approval-list"),
    pytest.param("job_monitor", b'{"interval_seconds": 0}', "interval_seconds", id="monitor-zero"),
    pytest.param("job_monitor", b'{"job": "x"}', "job_id", id="monitor-unknown-key"),
{%- if cookiecutter.include_entity %}
    pytest.param("counter_workflow", b'{"amount": "5"}', "amount", id="counter-text"),
{%- endif %}
]


@pytest.mark.parametrize(("name", "body", "expected"), BAD_INPUTS)
def test_an_input_of_the_wrong_shape_is_refused_with_400(
    durable_env, durable_client, name: str, body: bytes, expected: str
) -> None:
    response = start(durable_client, name, body)
    assert (response.status_code, durable_env.instance_ids()) == (400, [])
    assert expected in json.loads(response.get_body())["error"]


GOOD_INPUTS = [
    pytest.param("hello_chain", b'["Paris"]', id="hello_chain"),
    pytest.param("fan_out_fan_in", b"[1, 2.5]", id="fan_out_fan_in"),
    pytest.param("greet_and_sum", b'{"cities": ["Oslo"], "numbers": [2]}', id="greet_and_sum"),
    pytest.param("approval_workflow", b'{"timeout_seconds": 300}', id="approval_workflow"),
    pytest.param("job_monitor", b'{"job_id": "j", "ready_after": 1}', id="job_monitor"),
{%- if cookiecutter.include_entity %}
    pytest.param("counter_workflow", b'{"key": "k", "amount": 2}', id="counter_workflow"),
{%- endif %}
    pytest.param("hello_chain", b"null", id="null-uses-the-defaults"),
]


@pytest.mark.parametrize(("name", "body"), GOOD_INPUTS)
def test_every_documented_input_shape_is_accepted(durable_client, name: str, body: bytes) -> None:
    assert start(durable_client, name, body).status_code == 202
{%- if cookiecutter.include_entity %}


def test_adding_to_a_counter_signals_the_entity(durable_env, durable_client) -> None:
    handler = http_api.add_to_counter.build().get_user_function().client_function
    response = asyncio.run(
        handler(request("POST", "counters/k/add", {"key": "k"}, b"4"), durable_client)
    )
    durable_env.run_until_idle()
    assert (response.status_code, durable_env.entity_state(("counter", "k"))) == (202, 4)


def test_reading_a_counter_returns_its_value(durable_env, durable_client) -> None:
    durable_env.signal_entity(("counter", "k"), "add", 5)
    durable_env.run_until_idle()
    handler = http_api.read_counter.build().get_user_function().client_function
    response = asyncio.run(handler(request("GET", "counters/k", {"key": "k"}), durable_client))
    assert json.loads(response.get_body()) == {"key": "k", "value": 5}


def test_reading_an_unknown_counter_answers_404(durable_client) -> None:
    handler = http_api.read_counter.build().get_user_function().client_function
    response = asyncio.run(handler(request("GET", "counters/new", {"key": "new"}), durable_client))
    assert response.status_code == 404
{%- endif %}
