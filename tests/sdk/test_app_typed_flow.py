"""Dataclasses cross the wire end to end: orchestrator -> activity (worker converter) -> back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from durable_functions.app import DFApp
from durable_functions.serialization import df_dumps


@dataclass
class Order:
    item: str
    quantity: int


app = DFApp()


@app.activity_trigger(input_name="order")
def reserve(order: Order) -> Order:
    return Order(item=order.item, quantity=order.quantity * 2)


@app.orchestration_trigger(context_name="context", input_type=Order)
def place_order(context: Any) -> Any:
    order = context.get_input()
    reserved = yield context.call_activity(reserve, order)
    return {
        "input": type(order).__name__,
        "result": type(reserved).__name__,
        "quantity": reserved.quantity,
    }


# ``get_functions()`` may run only once per app (it records names to reject duplicates).
FUNCTIONS = {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


def registered(name: str) -> Any:
    return FUNCTIONS[name]


def event(event_type: int, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {
        "EventType": event_type,
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": "2024-05-01T10:00:00Z",
        **fields,
    }


def episode(history: list[dict[str, Any]], order_text: str) -> dict[str, Any]:
    payload = {
        "history": history,
        "input": order_text,
        "instanceId": "abc",
        "isReplaying": False,
        "parentInstanceId": None,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "longRunningTimerIntervalDuration": "3.00:00:00",
        "maximumShortTimerDuration": "6.00:00:00",
    }
    state: dict[str, Any] = json.loads(registered("place_order")(json.dumps(payload)))
    return state


ORDER_TEXT = df_dumps(Order(item="tea", quantity=2))
STARTED = [
    event(12),
    event(
        0,
        Name="place_order",
        Version="",
        Input=json.dumps(ORDER_TEXT),
        OrchestrationInstance={"InstanceId": "abc"},
    ),
]


def test_orchestrator_sends_a_dataclass_input_as_a_plain_json_object() -> None:
    state = episode(STARTED, ORDER_TEXT)
    action = state["actions"][0][0]
    assert (action["functionName"], json.loads(action["input"])) == (
        "reserve",
        {"item": "tea", "quantity": 2},
    )


# The worker library's codec warns once per process about calls without expected_type.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_worker_converter_hands_the_activity_a_dataclass_and_sends_its_result() -> None:
    activity_input = ActivityTriggerConverter.decode(
        meta.Datum(type="string", value=ORDER_TEXT), trigger_metadata=None
    )
    result = registered("reserve")(order=activity_input)
    datum = ActivityTriggerConverter.encode(result, expected_type=None)
    assert json.loads(datum.value) == {"item": "tea", "quantity": 4}


def test_orchestrator_receives_the_activity_result_as_the_annotated_dataclass() -> None:
    history = [
        *STARTED,
        event(4, 0, Name="reserve", Input=ORDER_TEXT),
        event(13),
        event(12),
        event(5, TaskScheduledId=0, Result='{"item": "tea", "quantity": 4}'),
    ]
    state = episode(history, ORDER_TEXT)
    assert state["isDone"] is True
    assert state["output"] == {"input": "Order", "result": "Order", "quantity": 4}
