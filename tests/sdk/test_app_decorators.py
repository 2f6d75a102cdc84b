"""DFApp / Blueprint: what the decorators register and how the wrappers behave."""

from __future__ import annotations

import asyncio
import inspect
import json
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import pytest

from durable_functions.app import Blueprint, DFApp
from durable_functions.entity import DurableEntityContext


@dataclass
class Order:
    item: str
    quantity: int


BINDING_JSON = json.dumps(
    {
        "taskHubName": "hub",
        "creationUrls": {},
        "managementUrls": {},
        "rpcBaseUrl": "http://127.0.0.1:1/durabletask/",
        "requiredQueryStringParameters": "code=x",
    }
)


def user_function(app: DFApp, name: str) -> Any:
    for function in app.get_functions():
        if function.get_function_name() == name:
            return function.get_user_function()
    raise LookupError(name)


def bindings(app: DFApp, name: str) -> list[dict[str, Any]]:
    for function in app.get_functions():
        if function.get_function_name() == name:
            return [json.loads(raw) for raw in function.get_raw_bindings()]
    raise LookupError(name)


def test_dfapp_is_an_azure_functions_app() -> None:
    assert isinstance(DFApp(), func.FunctionRegister)


def test_plain_azure_functions_decorators_work_on_a_dfapp() -> None:
    app = DFApp()

    @app.route(route="ping", methods=["GET"])
    def ping(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("pong")

    assert bindings(app, "ping")[0]["type"] == "httpTrigger"


def test_activity_binding_names_input_and_activity() -> None:
    app = DFApp()

    @app.activity_trigger(input_name="city", activity="say_hello")
    def hello(city: str) -> str:
        return f"Hello {city}"

    assert bindings(app, "hello") == [
        {
            "direction": "IN",
            "type": "activityTrigger",
            "name": "city",
            "activity": "say_hello",
        }
    ]


def test_plain_activity_is_registered_unchanged() -> None:
    app = DFApp()

    def hello(city: str) -> str:
        return city

    app.activity_trigger(input_name="city")(hello)
    assert user_function(app, "hello") is hello


def test_entity_binding_names_context_and_entity() -> None:
    app = DFApp()

    @app.entity_trigger(context_name="context", entity_name="Counter")
    def counter(context: DurableEntityContext) -> None:
        context.set_result(1)

    assert bindings(app, "counter")[0] == {
        "direction": "IN",
        "type": "entityTrigger",
        "name": "context",
        "entityName": "Counter",
    }


def test_entity_handler_keeps_the_name_and_exposes_the_entity_function() -> None:
    app = DFApp()

    def counter(context: DurableEntityContext) -> None:
        context.set_result(1)

    app.entity_trigger(context_name="context")(counter)
    handler = user_function(app, "counter")
    assert (handler.__name__, handler.entity_function) == ("counter", counter)


def test_entity_class_can_be_registered_with_the_decorator() -> None:
    app = DFApp()

    @app.entity_trigger(context_name="context")
    class Tally:
        def __init__(self) -> None:
            self.count = 0

        def bump(self) -> int:
            self.count += 1
            return self.count

    body = {
        "self": {"name": "tally", "key": "k"},
        "exists": False,
        "state": None,
        "batch": [{"name": "bump", "input": None}],
    }
    response = json.loads(user_function(app, "Tally")(json.dumps(body)))
    assert (response["entityState"], response["results"][0]["result"]) == ('{"count": 1}', "1")


def test_client_binding_names_client_task_hub_and_connection() -> None:
    app = DFApp()

    @app.route(route="start")
    @app.durable_client_input(client_name="client", task_hub="hub", connection_name="Storage")
    async def start(req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return func.HttpResponse("ok")

    assert next(b for b in bindings(app, "start") if b["type"] == "durableClient") == {
        "direction": "IN",
        "type": "durableClient",
        "name": "client",
        "taskHub": "hub",
        "connectionName": "Storage",
    }


def test_client_wrapper_forces_the_client_annotation_to_str_and_keeps_the_signature() -> None:
    app = DFApp()

    @app.route(route="start")
    @app.durable_client_input(client_name="client")
    async def start(req: func.HttpRequest, client: Any) -> func.HttpResponse:
        return func.HttpResponse("ok")

    wrapper = user_function(app, "start")
    assert inspect.iscoroutinefunction(wrapper)
    assert wrapper.__annotations__["client"] is str
    assert list(inspect.signature(wrapper).parameters) == ["req", "client"]


def test_client_wrapper_hands_a_rich_client_and_the_invocation_id_to_the_user_function() -> None:
    from durable_functions.client import DurableOrchestrationClient

    app = DFApp()
    seen: dict[str, Any] = {}

    @app.timer_trigger(arg_name="timer", schedule="0 0 * * * *")
    @app.durable_client_input(client_name="client")
    async def tick(timer: Any, client: Any, context: Any) -> None:
        seen["client"] = client

    class Context:
        invocation_id = "inv-1"

    asyncio.run(user_function(app, "tick")(timer=None, client=BINDING_JSON, context=Context()))
    assert isinstance(seen["client"], DurableOrchestrationClient)
    assert seen["client"]._function_invocation_id == "inv-1"


def test_client_wrapper_also_accepts_a_plain_def() -> None:
    app = DFApp()

    @app.route(route="sync")
    @app.durable_client_input(client_name="client")
    def sync_start(req: Any, client: Any) -> str:
        return type(client).__name__

    result = asyncio.run(user_function(app, "sync_start")(req=None, client=BINDING_JSON))
    assert result == "DurableOrchestrationClient"


def test_client_wrapper_exposes_the_user_function() -> None:
    app = DFApp()

    async def start(req: Any, client: Any) -> None:
        return None

    app.route(route="s")(app.durable_client_input(client_name="client")(start))
    assert user_function(app, "start").client_function is start


def test_orchestrator_handler_keeps_name_function_and_input_type() -> None:
    app = DFApp()

    def hello_orchestrator(context: Any) -> Any:
        yield None

    app.orchestration_trigger(context_name="context", input_type=Order)(hello_orchestrator)
    handler = user_function(app, "hello_orchestrator")
    assert (handler.__name__, handler.orchestrator_function, handler._df_input_type) == (
        "hello_orchestrator",
        hello_orchestrator,
        Order,
    )


def test_orchestration_binding_names_context_and_orchestration() -> None:
    app = DFApp()

    @app.orchestration_trigger(context_name="context", orchestration="Hello")
    def hello_orchestrator(context: Any) -> Any:
        yield None

    assert bindings(app, "hello_orchestrator")[0]["orchestration"] == "Hello"


def test_blueprint_functions_are_registered_on_the_app() -> None:
    blueprint = Blueprint()

    @blueprint.activity_trigger(input_name="name")
    def shout(name: str) -> str:
        return name.upper()

    app = DFApp()
    app.register_functions(blueprint)
    assert [f.get_function_name() for f in app.get_functions()] == ["shout"]


def test_dataclass_activity_gets_its_input_decoded_and_result_sent_as_json() -> None:
    app = DFApp()

    @app.activity_trigger(input_name="order")
    def double(order: Order) -> Order:
        return Order(item=order.item, quantity=order.quantity * 2)

    result = user_function(app, "double")(order={"item": "tea", "quantity": 2})
    assert result == {"item": "tea", "quantity": 4}


def test_dataclass_activity_wrapper_keeps_annotations_and_the_original() -> None:
    app = DFApp()

    def double(order: Order) -> Order:
        return order

    app.activity_trigger(input_name="order")(double)
    wrapper = user_function(app, "double")
    assert (wrapper.activity_function, inspect.signature(wrapper)) == (
        double,
        inspect.signature(double),
    )


def test_async_dataclass_activity_stays_async() -> None:
    app = DFApp()

    @app.activity_trigger(input_name="order")
    async def echo(order: Order) -> Order:
        return order

    wrapper = user_function(app, "echo")
    assert inspect.iscoroutinefunction(wrapper)
    assert asyncio.run(wrapper(order={"item": "x", "quantity": 1})) == {"item": "x", "quantity": 1}


def test_dataclass_activity_input_that_does_not_fit_is_a_clear_error() -> None:
    from durable_functions.errors import SerializationError

    app = DFApp()

    @app.activity_trigger(input_name="order")
    def use(order: Order) -> None:
        return None

    with pytest.raises(SerializationError, match="Order"):
        user_function(app, "use")(order="just text")


def test_dataclass_activity_converts_a_positional_input_too() -> None:
    app = DFApp()

    @app.activity_trigger(input_name="order")
    def quantity(order: Order) -> int:
        return order.quantity

    assert user_function(app, "quantity")({"item": "x", "quantity": 3}) == 3


def test_registered_handlers_carry_real_type_annotations_for_the_worker() -> None:
    """The worker rejects string annotations on binding parameters when it indexes the app."""
    app = DFApp()

    @app.orchestration_trigger(context_name="context")
    def orchestrator(context: Any) -> Any:
        yield None

    @app.entity_trigger(context_name="context")
    def entity(context: DurableEntityContext) -> None:
        return None

    functions = {f.get_function_name(): f.get_user_function() for f in app.get_functions()}
    orchestrator_sig = inspect.signature(functions["orchestrator"])
    entity_sig = inspect.signature(functions["entity"])
    assert orchestrator_sig.parameters["context"].annotation is func.OrchestrationContext
    assert entity_sig.parameters["context"].annotation is inspect.Parameter.empty
    assert orchestrator_sig.return_annotation is entity_sig.return_annotation is str


def test_durable_triggers_may_sit_above_other_decorators() -> None:
    app = DFApp()

    def orchestrator(context: Any) -> Any:
        yield None

    def entity(context: DurableEntityContext) -> None:
        return None

    app.orchestration_trigger(context_name="context")(
        app.function_name(name="Renamed")(orchestrator)
    )
    app.entity_trigger(context_name="context")(app.function_name(name="RenamedEntity")(entity))
    functions = {f.get_function_name(): f.get_user_function() for f in app.get_functions()}
    assert functions["Renamed"].orchestrator_function is orchestrator
    assert functions["RenamedEntity"].entity_function is entity
