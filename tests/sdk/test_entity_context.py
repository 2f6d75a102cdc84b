"""DurableEntityContext: parsing the trigger payload, state and input rules (protocol §7)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from durable_functions.entity import DurableEntityContext, EntityOperationError
from durable_functions.errors import SerializationError
from durable_functions.serialization import df_dumps


@dataclass
class Cart:
    items: list[str]


def context_for(state: str | None = None, **extra: Any) -> DurableEntityContext:
    body = {
        "self": {"name": "cart", "key": "u1"},
        "exists": state is not None,
        "state": state,
        "batch": [],
    }
    body.update(extra)
    context, _ = DurableEntityContext.from_json(json.dumps(body))
    return context


def with_input(context: DurableEntityContext, value: Any) -> DurableEntityContext:
    context._input = json.dumps(df_dumps(value))
    context._operation = "op"
    return context


def test_from_json_reads_name_key_and_batch() -> None:
    batch = [{"name": "add", "input": None, "isSignal": True}]
    body = {"self": {"name": "cart", "key": "u1"}, "exists": True, "state": "1", "batch": batch}
    context, parsed = DurableEntityContext.from_json(json.dumps(body))
    assert (context.entity_name, context.entity_key, parsed) == ("cart", "u1", batch)


def test_from_json_ignores_unknown_payload_keys() -> None:
    assert context_for(None, newField=1).entity_key == "u1"


def test_from_json_rejects_a_payload_without_self() -> None:
    with pytest.raises(SerializationError, match="Malformed entity trigger payload"):
        DurableEntityContext.from_json('{"batch": []}')


def test_get_state_decodes_the_stored_json_text() -> None:
    assert context_for('{"items": ["tea"]}').get_state() == {"items": ["tea"]}


def test_get_state_decodes_into_expected_type() -> None:
    assert context_for('{"items": ["tea"]}').get_state(expected_type=Cart) == Cart(items=["tea"])


def test_get_state_returns_the_initializer_value_when_there_is_no_state() -> None:
    assert context_for(None).get_state(lambda: {"items": []}) == {"items": []}


def test_initializer_value_is_not_stored() -> None:
    context = context_for(None)
    context.get_state(lambda: 5)
    assert context.get_state() is None


def test_non_callable_initializer_is_an_error() -> None:
    with pytest.raises(EntityOperationError, match="callable"):
        context_for(None).get_state(5)  # type: ignore[arg-type]


def test_set_state_replaces_the_state_and_marks_existing() -> None:
    context = context_for(None)
    context.set_state([1])
    assert (context.get_state(), context._exists) == ([1], True)


def test_get_input_decodes_the_double_encoded_operation_input() -> None:
    assert with_input(context_for(), {"a": [1, 2]}).get_input() == {"a": [1, 2]}


def test_get_input_decodes_into_expected_type() -> None:
    assert with_input(context_for(), {"items": ["x"]}).get_input(expected_type=Cart) == Cart(
        items=["x"]
    )


def test_get_input_is_none_when_the_operation_has_no_input() -> None:
    context = context_for()
    context._input = None
    assert context.get_input() is None


def test_get_input_accepts_input_encoded_only_once() -> None:
    """A sender that did not wrap its JSON in a string still gets through."""
    context = context_for()
    context._input = '{"a": 1}'
    assert context.get_input() == {"a": 1}


def test_operation_name_outside_an_operation_is_an_error() -> None:
    with pytest.raises(EntityOperationError, match="unassigned"):
        _ = context_for().operation_name


def test_is_newly_constructed_is_always_false() -> None:
    assert context_for(None).is_newly_constructed is False


def test_set_result_marks_the_entity_existing() -> None:
    context = context_for(None)
    context.set_result(1)
    assert context._exists is True


def test_destruct_on_exit_clears_the_state() -> None:
    context = context_for("3")
    context.destruct_on_exit()
    assert (context.get_state(), context._exists) == (None, False)


def test_from_json_accepts_an_already_parsed_payload() -> None:
    body = {"self": {"name": "cart", "key": "u1"}, "exists": False, "state": None, "batch": []}
    assert DurableEntityContext.from_json(body)[0].entity_name == "cart"
