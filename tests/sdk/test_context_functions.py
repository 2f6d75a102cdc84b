"""Activities and sub-orchestrators can be referenced by their decorated functions (v2 model)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from factories import HistoryBuilder, actions_of, orchestration_payload_json, replay_history

import durable_functions as df


@dataclass
class Greeting:
    text: str


app = df.DFApp()
REFERENCE_NO_ACTIVITY_TRIGGER = (
    "The `call_activity` API received a `Callable` without an associated Azure Functions "
    "trigger-type. Please ensure you're using the Python programming model V2 and that your "
    "activity function is annotated with the `activity_trigger`decorator. Otherwise, provide "
    "in the name of the activity as a string."
)


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> Greeting:
    return Greeting(text=f"Hello {city}")


@app.orchestration_trigger(context_name="context")
def child(context):
    yield context.call_activity("x")


def test_decorated_activity_is_called_by_its_function_name():
    def orch(ctx):
        yield ctx.call_activity(say_hello, "Tokyo")

    actions = actions_of(replay_history(orch, HistoryBuilder().events))
    assert actions[0]["functionName"] == "say_hello"


def test_decorated_activity_result_is_decoded_into_its_return_annotation():
    def orch(ctx):
        greeting = yield ctx.call_activity(say_hello, "Tokyo")
        return [type(greeting).__name__, greeting.text]

    history = (
        HistoryBuilder()
        .schedule_activity(0, "say_hello")
        .new_episode()
        .complete_activity(0, {"text": "Hello Tokyo"})
        .events
    )
    assert json.loads(replay_history(orch, history).state_json)["output"] == [
        "Greeting",
        "Hello Tokyo",
    ]


def test_decorated_orchestrator_is_called_as_a_sub_orchestrator_by_name():
    def orch(ctx):
        yield ctx.call_sub_orchestrator(child)

    actions = actions_of(replay_history(orch, HistoryBuilder().events))
    assert actions[0]["functionName"] == "child"


def test_decorated_orchestrator_is_refused_as_an_activity():
    def orch(ctx):
        yield ctx.call_activity(child)

    result = replay_history(orch, HistoryBuilder().events)
    assert isinstance(result.exception, ValueError)
    assert "ActivityTrigger" in str(result.exception)


def test_plain_function_without_trigger_is_refused():
    def not_decorated(x):
        return x

    def orch(ctx):
        yield ctx.call_activity(not_decorated)

    result = replay_history(orch, HistoryBuilder().events)
    assert isinstance(result.exception, ValueError)
    assert str(result.exception) == REFERENCE_NO_ACTIVITY_TRIGGER


@pytest.mark.parametrize("method", ["call_activity", "call_activity_with_retry"])
def test_a_callable_without_activity_trigger_gets_the_reference_text_for_every_activity_call(
    method,
):
    def orch(ctx):
        if method == "call_activity":
            yield ctx.call_activity(len, 1)
        else:
            yield ctx.call_activity_with_retry(len, df.RetryOptions(1000, 2), 1)

    assert str(replay_history(orch, HistoryBuilder().events).exception) == (
        REFERENCE_NO_ACTIVITY_TRIGGER
    )


@pytest.mark.reference
def test_the_callable_text_is_the_references():
    reference = pytest.importorskip("azure.durable_functions")

    def not_decorated(x):
        return x

    context = reference.DurableOrchestrationContext.from_json(
        orchestration_payload_json(HistoryBuilder().events)
    )
    with pytest.raises(ValueError) as raised:
        context.call_activity(not_decorated)
    assert str(raised.value) == REFERENCE_NO_ACTIVITY_TRIGGER


@pytest.mark.parametrize("name", ["", None], ids=["empty", "none"])
def test_missing_activity_name_is_refused(name):
    def orch(ctx):
        yield ctx.call_activity(name)

    assert isinstance(
        replay_history(orch, HistoryBuilder().events).exception, (ValueError, TypeError)
    )
