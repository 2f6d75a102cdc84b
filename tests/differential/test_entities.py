"""Our entity batches return what the reference returns, for random operation sequences.

The same entity functions (written once against the context API) get the same trigger payload
(protocol §7.1) on both SDKs; the batch results (§7.2) must agree. Two differences are
deliberate and normalised below, each pointing at its compatibility.md entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import DIFFERENTIAL
from .programs import json_values

pytestmark = [
    pytest.mark.reference,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def counter(context: Any) -> None:
    """A counter with every kind of operation an entity has: read, write, delete, fail."""
    operation = context.operation_name
    if operation == "get":
        context.set_result(context.get_state(lambda: 0))
    elif operation == "set":
        context.set_state(context.get_input())
    elif operation == "add":
        total = context.get_state(lambda: 0) + context.get_input()
        context.set_state(total)
        context.set_result(total)
    elif operation == "delete":
        context.destruct_on_exit()
    elif operation == "raise":
        raise ValueError(f"refused {context.get_input()!r}")
    elif operation == "peek":
        context.get_state()  # reads without answering
    elif operation == "who":
        context.set_result([context.entity_name, context.entity_key, context.operation_name])
    else:
        raise KeyError(operation)


def bag(context: Any) -> None:
    """A list-valued entity; its state is a JSON array, its results copies of it."""
    items = list(context.get_state(list))
    if context.operation_name == "put":
        items.append(context.get_input())
        context.set_state(items)
    elif context.operation_name == "pop":
        context.set_result(items.pop() if items else None)
        context.set_state(items)
    elif context.operation_name == "clear":
        context.destruct_on_exit()
    context.set_result(items)


ENTITIES: dict[str, tuple[Callable[[Any], None], tuple[str, ...]]] = {
    "counter": (counter, ("get", "set", "add", "delete", "raise", "peek", "who", "nope")),
    "bag": (bag, ("put", "pop", "clear")),
}
# Operations that read their input; the others are sent with or without one.
READS_INPUT = {"set", "add", "raise", "put"}
# Operations that finish without calling set_result (see normalise()).
NO_RESULT = {"set", "delete", "peek"}


@dataclass(frozen=True)
class Batch:
    entity: str
    key: str
    exists: bool
    state: str | None
    operations: tuple[tuple[str, str | None, bool], ...]  # (name, input item, isSignal)

    def payload(self) -> str:
        return json.dumps(
            {
                "self": {"name": self.entity, "key": self.key},
                "exists": self.exists,
                "state": self.state,
                "batch": [
                    {"name": name, "input": item, "isSignal": signal}
                    for name, item, signal in self.operations
                ],
            }
        )


def request_input(value: Any) -> str:
    """What the host stores for an input sent by an orchestrator: JSON of JSON (§9.3)."""
    return json.dumps(json.dumps(value))


numbers = st.integers(min_value=-1000, max_value=1000)


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    entity = draw(st.sampled_from(sorted(ENTITIES)))
    _, operations = ENTITIES[entity]
    if entity == "counter":
        # Mostly numbers so that "add" succeeds; anything else makes it raise a TypeError.
        values = st.one_of(numbers, numbers, numbers, json_values)
        state_values = numbers | json_values
    else:
        values = json_values
        state_values = st.lists(json_values, max_size=3)
    exists = draw(st.booleans())
    state = json.dumps(draw(state_values)) if exists else draw(st.sampled_from([None, "null"]))
    items = []
    for name in draw(st.lists(st.sampled_from(operations), min_size=1, max_size=8)):
        if name in READS_INPUT:
            # A missing input makes the reference's get_input() raise TypeError; we return
            # None (compatibility.md, Entities: get_input() returns None), so always send one.
            item: str | None = request_input(draw(values))
        else:
            item = draw(st.sampled_from([None, request_input(None), request_input("x")]))
        items.append((name, item, draw(st.booleans())))
    key = draw(st.sampled_from(["k1", "Key Two", "é"]))
    return Batch(entity, key, exists, state, tuple(items))


_CLOCK = re.compile(r'"(duration|startTime)": -?\d+')


def normalise(response: str, batch: Batch) -> dict[str, Any]:
    """Parsed response without wall-clock fields and without results nobody set.

    * `duration`/`startTime` are wall-clock measurements (protocol §7.2).
    * An operation that never calls `set_result` reports the previous operation's result in the
      reference and `null` in ours (compatibility.md, Entities: the result slot is reset for
      each operation); those slots are compared only for errors.
    """
    parsed: dict[str, Any] = json.loads(response)
    for result, (name, _, _) in zip(parsed["results"], batch.operations):
        del result["duration"], result["startTime"]
        if name in NO_RESULT and not result["isError"]:
            result["result"] = "<not set>"
    return parsed


@DIFFERENTIAL
@given(batch=batches())
def test_entity_batches_return_the_reference_results(
    reference: ModuleType, ours: ModuleType, batch: Batch
) -> None:
    function, _ = ENTITIES[batch.entity]
    payload = batch.payload()
    expected = reference.Entity.create(function)(payload)
    actual = ours.Entity.create(function)(payload)
    assert normalise(actual, batch) == normalise(expected, batch)
    if not any(name in NO_RESULT for name, _, _ in batch.operations):
        # Without the documented result-slot difference, the text is the same too.
        assert _CLOCK.sub("<clock>", actual) == _CLOCK.sub("<clock>", expected)


def test_normalise_masks_only_unset_results() -> None:
    batch = Batch("counter", "k", True, "1", (("peek", None, False), ("get", None, False)))
    response = json.dumps(
        {
            "entityExists": True,
            "entityState": "1",
            "results": [
                {"isError": False, "duration": 3, "startTime": 9, "result": "7"},
                {"isError": False, "duration": 0, "startTime": 9, "result": "1"},
            ],
            "signals": [],
        }
    )
    results = normalise(response, batch)["results"]
    assert results == [
        {"isError": False, "result": "<not set>"},
        {"isError": False, "result": "1"},
    ]
