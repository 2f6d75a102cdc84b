"""DFApp emits the same function metadata as the reference's DFApp for the same app."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import azure.functions as func
import pytest

pytestmark = [pytest.mark.reference, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@dataclass
class Order:
    item: str
    quantity: int


def build_sample_app(df: ModuleType) -> Any:
    """One app with every trigger kind, written once against either SDK."""
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="orchestrators/{name}", methods=["POST", "GET"])
    @app.durable_client_input(client_name="client")
    async def http_start(req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return func.HttpResponse("started")

    @app.function_name(name="StartWithHub")
    @app.route(route="hub", auth_level=func.AuthLevel.FUNCTION)
    @app.durable_client_input(client_name="starter", task_hub="OtherHub", connection_name="Storage")
    async def start_with_hub(req: func.HttpRequest, starter: str) -> func.HttpResponse:
        return func.HttpResponse("ok")

    @app.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
    @app.durable_client_input(client_name="client")
    async def nightly(timer: func.TimerRequest, client: Any) -> None:
        return None

    @app.orchestration_trigger(context_name="context")
    def hello_orchestrator(context: Any) -> Any:
        result = yield context.call_activity("hello", "Tokyo")
        return result

    @app.orchestration_trigger(
        context_name="context", orchestration="RenamedOrchestrator", input_type=Order
    )
    def typed_orchestrator(context: Any) -> Any:
        yield context.call_activity("hello", "x")

    @app.activity_trigger(input_name="city")
    def hello(city: str) -> str:
        return f"Hello {city}"

    @app.activity_trigger(input_name="order", activity="RenamedActivity")
    def price(order: Order) -> float:
        return 1.0

    @app.function_name(name="AsyncActivity")
    @app.activity_trigger(input_name="payload")
    async def async_activity(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    @app.entity_trigger(context_name="context")
    def counter(context: Any) -> None:
        context.set_result(context.get_state(lambda: 0))

    @app.entity_trigger(context_name="context", entity_name="RenamedEntity")
    def renamed_entity(context: Any) -> None:
        context.set_result(None)

    @app.queue_trigger(arg_name="msg", queue_name="orders", connection="Storage")
    @app.durable_client_input(client_name="client")
    async def from_queue(msg: func.QueueMessage, client: Any) -> None:
        return None

    blueprint = df.Blueprint()

    @blueprint.orchestration_trigger(context_name="context")
    def blueprint_orchestrator(context: Any) -> Any:
        yield context.call_activity("blueprint_activity", None)

    @blueprint.activity_trigger(input_name="value")
    def blueprint_activity(value: Any) -> Any:
        return value

    @blueprint.route(route="bp", methods=[func.HttpMethod.GET])
    @blueprint.durable_client_input(client_name="client")
    async def blueprint_start(req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return func.HttpResponse("bp")

    second = df.Blueprint()

    @second.entity_trigger(context_name="context")
    def second_entity(context: Any) -> None:
        return None

    app.register_functions(blueprint)
    app.register_blueprint(second)
    return app


def describe(app: Any) -> list[dict[str, Any]]:
    """Everything the worker reads from a function when indexing it."""
    described = []
    for function in app.get_functions():
        user = function.get_user_function()
        described.append(
            {
                "name": function.get_function_name(),
                "json": json.loads(function.get_function_json()),
                "raw_bindings": [json.loads(raw) for raw in function.get_raw_bindings()],
                "is_http": function.is_http_function(),
                "settings": {
                    name: function.get_settings_dict(name) for name in ("function_name", "retry")
                },
                # The worker type-checks these annotations when it indexes the app.
                "parameters": [
                    (p.name, p.kind, p.default, p.annotation)
                    for p in inspect.signature(user).parameters.values()
                ],
                "return_annotation": inspect.signature(user).return_annotation,
                "user_name": user.__name__,
                "is_async": inspect.iscoroutinefunction(user),
                "client_annotation": {
                    name: user.__annotations__.get(name)
                    for name in ("client", "starter")
                    if name in user.__annotations__
                },
            }
        )
    return described


@pytest.fixture(scope="module")
def reference_description() -> list[dict[str, Any]]:
    import azure.durable_functions as reference

    return describe(build_sample_app(reference))


@pytest.fixture(scope="module")
def our_description() -> list[dict[str, Any]]:
    import durable_functions

    return describe(build_sample_app(durable_functions))


def test_same_functions_in_the_same_order(
    our_description: list[dict[str, Any]], reference_description: list[dict[str, Any]]
) -> None:
    assert [f["name"] for f in our_description] == [f["name"] for f in reference_description]


@pytest.mark.parametrize("index", range(15))
def test_each_function_has_identical_metadata(
    index: int,
    our_description: list[dict[str, Any]],
    reference_description: list[dict[str, Any]],
) -> None:
    assert len(our_description) == len(reference_description) == 15
    assert our_description[index] == reference_description[index]


def test_decorators_have_the_reference_signatures() -> None:
    import azure.durable_functions as reference

    import durable_functions

    for name in (
        "orchestration_trigger",
        "activity_trigger",
        "entity_trigger",
        "durable_client_input",
    ):
        ours = inspect.signature(getattr(durable_functions.DFApp, name))
        theirs = inspect.signature(getattr(reference.DFApp, name))
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
            (p.name, p.kind, p.default) for p in theirs.parameters.values()
        ], name


def test_dfapp_and_blueprint_have_the_reference_bases() -> None:
    import azure.durable_functions as reference

    import durable_functions

    def bases(cls: type) -> list[str]:
        return [base.__name__ for base in cls.__mro__]

    assert bases(durable_functions.DFApp) == bases(reference.DFApp)
    assert bases(durable_functions.Blueprint) == bases(reference.Blueprint)


def _generator_process(context: Any) -> Any:
    result = yield context.call_activity("hello", "Tokyo")
    return result


async def _async_process(context: Any) -> Any:
    return await context.call_activity("hello", "Tokyo")


def test_an_async_orchestrator_is_indexed_as_the_reference_indexes_a_generator() -> None:
    """The worker sees the same function for an ``async def`` orchestrator: a sync handler."""
    import azure.durable_functions as reference

    import durable_functions as ours

    def app_with(df: ModuleType, orchestrator: Any) -> Any:
        app = df.DFApp()
        orchestrator.__name__ = "process"
        app.orchestration_trigger(context_name="context")(orchestrator)
        return app

    theirs = describe(app_with(reference, _generator_process))
    mine = describe(app_with(ours, _async_process))

    assert mine == theirs
    assert mine[0]["is_async"] is False
