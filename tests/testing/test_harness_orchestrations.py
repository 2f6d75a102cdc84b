"""Orchestrations end to end: sub-orchestrations, continue-as-new, failures, statuses, names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

import durable_functions as df
from durable_functions.errors import FunctionNotFoundError, OrchestrationFailedError
from durable_functions.testing import OrchestrationTestEnv

app = df.DFApp()


@dataclass
class Order:
    id: int
    items: list[str]

    @staticmethod
    def to_json(order: Order) -> dict[str, object]:
        return {"id": order.id, "items": order.items}

    @staticmethod
    def from_json(data: dict[str, object]) -> Order:
        return Order(id=int(data["id"]), items=list(data["items"]))  # type: ignore[arg-type]


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    first = yield context.call_sub_orchestrator("child", 2)
    second = yield context.call_sub_orchestrator("child", 5, instance_id="child-five")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    number = context.get_input()
    doubled = yield context.call_activity("double", number)
    return doubled


@app.orchestration_trigger(context_name="context")
def parent_of_failing(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator("explodes", None)
    except Exception as error:
        return f"child failed: {error}"
    return "child ok"


@app.orchestration_trigger(context_name="context")
def explodes(context: df.DurableOrchestrationContext):
    yield context.call_activity("double", 1)
    raise ValueError("boom in the orchestrator")


@app.orchestration_trigger(context_name="context")
def counter_loop(context: df.DurableOrchestrationContext):
    count = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    if count < 3:
        context.continue_as_new(count + 1)
        return None
    return count


@app.orchestration_trigger(context_name="context")
def progress(context: df.DurableOrchestrationContext):
    for step in ("validating", "charging", "shipping"):
        context.set_custom_status({"step": step})
        yield context.call_activity("double", 0)
    return "done"


@app.orchestration_trigger(context_name="context")
def takes_an_order(context: df.DurableOrchestrationContext):
    order = context.get_input()
    return {"type": type(order).__name__, "items": len(order.items)}


@app.activity_trigger(input_name="number")
def double(number: int) -> int:
    return number * 2


def adhoc_orchestrator(context: df.DurableOrchestrationContext):
    value = yield context.call_activity("double", context.get_input())
    return value + 1


def test_sub_orchestrations_run_and_return_their_output() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("parent")

    assert result.output == [4, 10]
    assert env.result("child-five").output == 10


def test_a_failing_sub_orchestration_surfaces_in_the_parent() -> None:
    result = OrchestrationTestEnv(app).run("parent_of_failing")

    assert result.output.startswith("child failed: Orchestrator function 'explodes' failed")
    assert "boom in the orchestrator" in result.output


def test_an_orchestrator_exception_fails_the_instance_with_its_text() -> None:
    result = OrchestrationTestEnv(app).run("explodes")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Failed
    assert "boom in the orchestrator" in (result.error or "")
    assert result.failure is not None


def test_raise_for_status_raises_for_a_failed_instance() -> None:
    result = OrchestrationTestEnv(app).run("explodes")

    with pytest.raises(OrchestrationFailedError, match="boom in the orchestrator"):
        result.raise_for_status()


def test_continue_as_new_restarts_with_the_new_input_until_done() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("counter_loop", input=0)

    assert result.output == 3
    assert env.now - result.created_time == timedelta(hours=4)


def test_after_continue_as_new_the_history_holds_the_last_generation_only() -> None:
    result = OrchestrationTestEnv(app).run("counter_loop", input=0)

    started = [e for e in result.history if e["EventType"] == 0]
    assert len(started) == 1


def test_every_custom_status_is_recorded_in_order() -> None:
    result = OrchestrationTestEnv(app).run("progress")

    assert result.custom_statuses == [
        {"step": "validating"},
        {"step": "charging"},
        {"step": "shipping"},
    ]
    assert result.custom_status == {"step": "shipping"}


def test_an_orchestrator_can_be_run_by_its_decorated_function() -> None:
    result = OrchestrationTestEnv(app).run(child, input=4)

    assert result.output == 8


def test_a_plain_generator_function_runs_without_registering_it() -> None:
    result = OrchestrationTestEnv(app).run(adhoc_orchestrator, input=20)

    assert (result.name, result.output) == ("adhoc_orchestrator", 41)


def test_custom_objects_cross_the_wire_as_input() -> None:
    result = OrchestrationTestEnv(app).run("takes_an_order", input=Order(id=1, items=["a", "b"]))

    assert result.output == {"type": "Order", "items": 2}


def test_the_result_exposes_the_full_raw_history() -> None:
    result = OrchestrationTestEnv(app).run("child", input=1)

    kinds = [e["EventType"] for e in result.history]
    assert kinds[:2] == [12, 0]
    assert 4 in kinds and 5 in kinds and kinds[-2] == 1


def test_an_unknown_orchestrator_name_is_a_clear_error() -> None:
    with pytest.raises(FunctionNotFoundError, match="'nope'.*known: "):
        OrchestrationTestEnv(app).run("nope")


def test_a_terminated_instance_reports_its_reason() -> None:
    env = OrchestrationTestEnv(app)
    instance_id = env.start("counter_loop", 0, run=True)

    env.terminate(instance_id, "operator said stop")
    env.run_until_idle()

    result = env.result(instance_id)
    assert (result.runtime_status, result.error) == (
        df.OrchestrationRuntimeStatus.Terminated,
        "operator said stop",
    )
