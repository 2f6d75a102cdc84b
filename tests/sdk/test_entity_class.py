"""Class-based entities: public methods are operations, fields are the state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from durable_functions.entity import DurableEntityContext, Entity
from durable_functions.serialization import df_dumps


@dataclass
class Item:
    name: str
    price: float


@dataclass
class Basket:
    items: list[Item] = field(default_factory=list)
    owner: str = ""

    def add(self, item: Item) -> int:
        self.items.append(item)
        return len(self.items)

    def total(self) -> float:
        return sum(item.price for item in self.items)

    def rename(self, owner: str) -> None:
        self.owner = owner

    def explode(self) -> None:
        raise RuntimeError("boom")

    def _secret(self) -> str:
        return "hidden"


class Counter:
    """A plain class: its public attributes are the state."""

    def __init__(self) -> None:
        self.value = 0

    def add(self, amount: int) -> None:
        self.value += amount

    def get(self) -> int:
        return self.value


def op(name: str, value: Any = None) -> dict[str, Any]:
    return {"name": name, "input": json.dumps(df_dumps(value)), "isSignal": False}


def run(target: Any, *ops: dict[str, Any], state: str | None = None) -> dict[str, Any]:
    body = {
        "self": {"name": "basket", "key": "k"},
        "exists": state is not None,
        "state": state,
        "batch": list(ops),
    }
    response: dict[str, Any] = json.loads(Entity.create(target)(json.dumps(body)))
    for result in response["results"]:
        result.pop("duration")
        result.pop("startTime")
    return response


def test_method_named_by_the_operation_runs_with_the_decoded_input() -> None:
    response = run(Basket, op("add", {"name": "tea", "price": 2.5}))
    assert response["results"][0]["result"] == "1"


def test_state_is_the_json_object_of_the_dataclass_fields() -> None:
    response = run(Basket, op("rename", "ada"))
    assert json.loads(response["entityState"]) == {"items": [], "owner": "ada"}


def test_state_is_rebuilt_into_the_class_between_batches() -> None:
    state = json.dumps(
        {"items": [{"name": "tea", "price": 2.5}, {"name": "jam", "price": 4}], "owner": ""}
    )
    assert run(Basket, op("total"), state=state)["results"][0]["result"] == "6.5"


def test_plain_class_state_is_its_public_attributes() -> None:
    response = run(Counter, op("add", 5), op("add", 2), op("get"))
    assert (json.loads(response["entityState"]), response["results"][2]["result"]) == (
        {"value": 7},
        "7",
    )


def test_operation_names_match_case_insensitively() -> None:
    assert run(Counter, op("GET"), state='{"value": 3}')["results"][0]["result"] == "3"


def test_unknown_operation_is_an_error_result() -> None:
    result = run(Counter, op("jump"))["results"][0]
    assert result["isError"] is True
    assert "has no operation 'jump'" in json.loads(result["result"])


def test_private_methods_are_not_operations() -> None:
    assert run(Basket, op("_secret"))["results"][0]["isError"] is True


def test_exception_in_a_method_is_an_error_result_and_keeps_the_state() -> None:
    response = run(Basket, op("explode"), state='{"items": [], "owner": "x"}')
    assert response["results"][0]["isError"] is True
    assert json.loads(response["entityState"]) == {"items": [], "owner": "x"}


def test_undefined_delete_operation_deletes_the_entity() -> None:
    response = run(Counter, op("delete"), state='{"value": 3}')
    assert (response["entityExists"], response["entityState"]) == (False, "null")


def test_state_that_does_not_fit_the_class_is_an_error_result() -> None:
    result = run(Basket, op("total"), state="[1, 2]")["results"][0]
    assert result["isError"] is True


def test_handler_exposes_the_class_as_entity_function() -> None:
    assert Entity.create(Counter).entity_function is Counter  # type: ignore[attr-defined]


def counter_function(context: DurableEntityContext) -> None:
    """What the class-based Counter stands for, written as a function entity."""
    state = context.get_state()
    instance = Counter()
    if state is not None:
        instance.__dict__.update(state)
    if context.operation_name == "add":
        result = instance.add(context.get_input())
    else:
        result = instance.get()
    context.set_state(vars(instance))
    context.set_result(result)


@pytest.mark.parametrize(
    ("ops", "state"),
    [
        pytest.param([op("add", 4), op("get")], None, id="new-entity"),
        pytest.param([op("get")], '{"value": 10}', id="read"),
        pytest.param([op("add", 1)], '{"value": 10}', id="write"),
    ],
)
def test_class_entity_is_wire_identical_to_the_equivalent_function(
    ops: list[dict[str, Any]], state: str | None
) -> None:
    assert run(Counter, *ops, state=state) == run(counter_function, *ops, state=state)


def test_pydantic_model_can_be_a_class_entity() -> None:
    import pydantic

    class Wallet(pydantic.BaseModel):
        balance: int = 0

        def deposit(self, amount: int) -> int:
            self.balance += amount
            return self.balance

    response = run(Wallet, op("deposit", 5), state='{"balance": 10}')
    assert (response["results"][0]["result"], json.loads(response["entityState"])) == (
        "15",
        {"balance": 15},
    )
