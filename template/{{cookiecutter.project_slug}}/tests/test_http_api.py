"""The HTTP starters, called with a stand-in durable client (no host needed)."""

import asyncio
import json

import azure.functions as func

import http_api


class FakeClient:
    """Records what the starter asks of the durable client."""

    def __init__(self) -> None:
        self.started: list[tuple[str, object]] = []
        self.signals: list[tuple[str, str, str, object]] = []

    async def start_new(self, name: str, instance_id=None, client_input=None) -> str:
        self.started.append((name, client_input))
        return "instance-1"

    def create_check_status_response(self, request, instance_id: str) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({"id": instance_id}), status_code=202)

    async def signal_entity(self, entity_id, operation_name: str, operation_input=None) -> None:
        self.signals.append((entity_id.name, entity_id.key, operation_name, operation_input))


def post(route: str, route_params: dict[str, str], body: bytes = b"") -> func.HttpRequest:
    return func.HttpRequest(
        method="POST", url=f"http://localhost/api/{route}", body=body, route_params=route_params
    )


def start(function_name: str, body: bytes = b"") -> tuple[func.HttpResponse, FakeClient]:
    client = FakeClient()
    handler = http_api.start_orchestration.build().get_user_function().client_function
    request = post(f"orchestrators/{function_name}", {"functionName": function_name}, body)
    return asyncio.run(handler(request, client)), client


def test_starting_a_known_orchestration_answers_202_with_its_instance_id() -> None:
    response, _client = start("hello_chain")
    assert (response.status_code, json.loads(response.get_body())) == (202, {"id": "instance-1"})


def test_the_json_body_becomes_the_orchestration_input() -> None:
    _response, client = start("fan_out_fan_in", b"[1, 2]")
    assert client.started == [("fan_out_fan_in", [1, 2])]


def test_an_unknown_orchestration_is_refused_with_404() -> None:
    response, client = start("drop_tables")
    assert (response.status_code, client.started) == (404, [])


def test_a_body_that_is_not_json_is_refused_with_400() -> None:
    response, client = start("hello_chain", b"{not json")
    assert (response.status_code, client.started) == (400, [])
{%- if cookiecutter.include_entity %}


def test_adding_to_a_counter_signals_the_entity() -> None:
    client = FakeClient()
    handler = http_api.add_to_counter.build().get_user_function().client_function
    response = asyncio.run(handler(post("counters/k/add", {"key": "k"}, b"4"), client))
    assert (response.status_code, client.signals) == (202, [("counter", "k", "add", 4)])
{%- endif %}
