"""Entity batches: the trigger payload in, the entity response out (protocol §7)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from durable_functions.entity import (
    DurableEntityContext,
    Entity,
    EntityId,
    InternalEntityException,
)
from durable_functions.errors import SerializationError
from durable_functions.serialization import df_dumps


def operation(
    name: str | None, value: Any = None, *, signal: bool = False, raw: bool = False
) -> dict[str, Any]:
    """A batch item as the host sends it: input is JSON text of a JSON string."""
    encoded = None if raw else json.dumps(df_dumps(value))
    return {"name": name, "input": encoded, "isSignal": signal}


def payload(*ops: dict[str, Any], state: str | None = None, exists: bool | None = None) -> str:
    return json.dumps(
        {
            "self": {"name": "counter", "key": "k1"},
            "exists": state is not None if exists is None else exists,
            "state": state,
            "batch": list(ops),
        }
    )


def counter(context: DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
        context.set_state(value)
    elif context.operation_name == "reset":
        context.set_state(0)
    elif context.operation_name == "get":
        context.set_result(value)
    elif context.operation_name == "delete":
        context.destruct_on_exit()
    elif context.operation_name == "fail":
        raise ValueError("cannot do that")


def run(fn: Any, text: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(Entity.create(fn)(text))
    return result


def test_response_has_the_four_keys_the_host_reads() -> None:
    response = run(counter, payload(operation("get")))
    assert list(response) == ["entityExists", "entityState", "results", "signals"]


def test_operations_apply_in_order_and_state_is_serialized() -> None:
    response = run(counter, payload(operation("add", 3), operation("add", 4), operation("get")))
    assert response["entityState"] == "7"
    assert response["results"][2]["result"] == "7"


def test_one_result_per_operation() -> None:
    response = run(counter, payload(operation("add", 1), operation("get"), operation("get")))
    assert len(response["results"]) == 3


def test_untouched_state_is_echoed_verbatim() -> None:
    """A batch that never reads or writes the state returns the host's text unchanged."""

    def noop(context: DurableEntityContext) -> None:
        context.set_result(None)

    response = run(noop, payload(operation("ping"), state='{ "spaced" :  1 }'))
    assert response["entityState"] == '{ "spaced" :  1 }'


def test_absent_state_is_sent_as_json_null() -> None:
    def noop(context: DurableEntityContext) -> None:
        pass

    assert run(noop, payload(operation("ping")))["entityState"] == "null"


def test_set_state_marks_the_entity_existing() -> None:
    response = run(counter, payload(operation("add", 1), exists=False))
    assert response["entityExists"] is True


def test_destruct_on_exit_deletes_state_and_existence() -> None:
    response = run(counter, payload(operation("delete"), state="5"))
    assert (response["entityExists"], response["entityState"]) == (False, "null")


def test_failing_operation_reports_its_error_text_and_the_batch_goes_on() -> None:
    response = run(counter, payload(operation("fail"), operation("add", 2), state="1"))
    first, second = response["results"]
    assert first["isError"] is True
    assert json.loads(first["result"]) == "cannot do that"
    assert second["isError"] is False
    assert response["entityState"] == "3"


def test_result_slot_is_reset_between_operations() -> None:
    """An operation that sets no result reports null, not the previous operation's result."""
    response = run(counter, payload(operation("get"), operation("add", 1), state="9"))
    assert [r["result"] for r in response["results"]] == ["9", "null"]


def test_results_carry_start_time_and_duration_in_milliseconds() -> None:
    def slow(context: DurableEntityContext) -> None:
        time.sleep(0.02)

    before = int(time.time() * 1000)
    result = run(slow, payload(operation("wait")))["results"][0]
    assert before - 5 <= result["startTime"] <= int(time.time() * 1000)
    assert result["duration"] >= 15


def test_signals_are_always_empty() -> None:
    assert run(counter, payload(operation("add", 1, signal=True)))["signals"] == []


def test_operation_without_name_aborts_the_batch() -> None:
    with pytest.raises(InternalEntityException):
        run(counter, payload(operation(None)))


def test_unserializable_result_fails_only_that_operation() -> None:
    def returns_object(context: DurableEntityContext) -> None:
        context.set_result(object() if context.operation_name == "bad" else "ok")

    response = run(returns_object, payload(operation("bad"), operation("good")))
    assert [r["isError"] for r in response["results"]] == [True, False]
    assert "not JSON serializable" in json.loads(response["results"][0]["result"])


def test_unserializable_state_is_a_clear_error() -> None:
    def stores_object(context: DurableEntityContext) -> None:
        context.set_state(object())

    with pytest.raises(SerializationError, match="state of entity 'counter'"):
        run(stores_object, payload(operation("x")))


def test_handler_accepts_an_object_with_a_body() -> None:
    class WorkerContext:
        body = payload(operation("add", 2), state="1")

    assert json.loads(Entity.create(counter)(WorkerContext()))["entityState"] == "3"


def test_created_handler_exposes_the_entity_function() -> None:
    assert Entity.create(counter).entity_function is counter  # type: ignore[attr-defined]


def test_entity_keeps_the_user_function_as_fn() -> None:
    assert Entity(counter).fn is counter


def test_handle_returns_response_text_for_a_parsed_context() -> None:
    context, batch = DurableEntityContext.from_json(payload(operation("add", 5)))
    assert json.loads(Entity(counter).handle(context, batch))["entityState"] == "5"


# --- EntityId ---------------------------------------------------------------


def test_entity_id_scheduler_id_lowercases_the_name() -> None:
    assert EntityId.get_scheduler_id(EntityId("Counter", "Key")) == "@counter@Key"


def test_entity_id_str_is_the_scheduler_id() -> None:
    assert str(EntityId("Counter", "k")) == "@counter@k"


def test_entity_id_parses_a_scheduler_id() -> None:
    assert EntityId.get_entity_id("@counter@k1") == EntityId("counter", "k1")


def test_entity_id_rejects_a_malformed_scheduler_id() -> None:
    with pytest.raises(ValueError, match="Unexpected format in SchedulerId"):
        EntityId.get_entity_id("@a@b@c")


@pytest.mark.parametrize(("name", "key"), [("", "k"), ("n", "")], ids=["empty-name", "empty-key"])
def test_entity_id_rejects_empty_parts(name: str, key: str) -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        EntityId(name, key)


def test_entity_id_url_path() -> None:
    assert EntityId.get_entity_id_url_path(EntityId("Counter", "k")) == "entities/Counter/k"


def test_equal_entity_ids_hash_equal_and_work_as_dict_keys() -> None:
    ids = {EntityId("counter", "a"): 1}
    assert ids[EntityId("counter", "a")] == 1
    assert EntityId("counter", "a") != EntityId("Counter", "a")


# --- the reference as an oracle --------------------------------------------


def _strip_timing(response: dict[str, Any]) -> dict[str, Any]:
    for result in response["results"]:
        result.pop("duration")
        result.pop("startTime")
    return response


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "text",
    [
        pytest.param(payload(operation("add", 3), operation("get"), state="4"), id="add-get"),
        pytest.param(payload(operation("get"), state='{ "a" : 1 }'), id="read-only"),
        pytest.param(payload(operation("fail"), operation("get"), state="2"), id="error"),
        pytest.param(payload(operation("delete"), state="2"), id="delete"),
        pytest.param(payload(operation("reset"), exists=False), id="create"),
    ],
)
def test_response_matches_the_reference_when_every_operation_sets_a_result(text: str) -> None:
    import azure.durable_functions as reference

    def both(context: Any) -> None:
        counter(context)
        if context.operation_name != "get":
            context.set_result(context.operation_name)

    ours = _strip_timing(run(both, text))
    theirs = _strip_timing(json.loads(reference.Entity.create(both)(text)))
    assert ours == theirs
