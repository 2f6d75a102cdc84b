"""The engine turns malformed orchestrator answers into failed instances, never exceptions."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from durable_functions.host import engine
from durable_functions.host.engine import (
    InstanceState,
    OrchestrationMessage,
    OrchestrationWorkItem,
    RuntimeStatus,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
_action = st.fixed_dictionaries(
    {"actionType": st.integers(min_value=-1, max_value=13)},
    optional={
        "functionName": _json,
        "input": _json,
        "fireAt": st.one_of(_json, st.just("2024-05-02T00:00:00.000000Z")),
        "isCanceled": _json,
        "externalEventName": _json,
        "instanceId": _json,
        "operation": _json,
        "retryOptions": _json,
        "httpRequest": _json,
        "compoundActions": st.lists(
            st.fixed_dictionaries({"actionType": st.integers(0, 12)}), max_size=2
        ),
        "version": _json,
    },
)
_state = st.fixed_dictionaries(
    {"isDone": st.booleans(), "actions": st.lists(st.lists(_action, max_size=3), max_size=2)},
    optional={"schemaVersion": st.sampled_from([0, 1, 2]), "output": _json, "customStatus": _json},
)


def _episode() -> engine.Episode:
    instance = InstanceState(
        instance_id="abc",
        execution_id="e1",
        name="orch",
        runtime_status=RuntimeStatus.Pending,
        created_time=T0,
        last_updated_time=T0,
    )
    started = engine.execution_started_event(
        instance_id="abc",
        execution_id="e1",
        name="orch",
        version="",
        input_json=None,
        parent=None,
        timestamp=T0,
    )
    item = OrchestrationWorkItem(
        instance=instance,
        history=(),
        messages=(OrchestrationMessage(instance_id="abc", execution_id="e1", event=started),),
    )
    return engine.prepare_episode(item, now=T0)


@settings(max_examples=100, deadline=None)
@given(state=_state)
def test_any_orchestrator_state_yields_an_outcome(state: dict[str, Any]) -> None:
    counter = iter(range(10_000))

    outcome = engine.complete_episode(
        _episode(), json.dumps(state), now=T0, new_id=lambda: f"id-{next(counter)}"
    )

    assert outcome.instance.runtime_status in set(RuntimeStatus)


def test_an_invalid_timer_time_fails_the_instance_with_a_clear_error() -> None:
    state = {
        "isDone": False,
        "schemaVersion": 2,
        "actions": [[{"actionType": 5, "fireAt": "tomorrow", "isCanceled": False}]],
    }

    outcome = engine.complete_episode(_episode(), json.dumps(state), now=T0, new_id=lambda: "x")

    assert outcome.instance.runtime_status is RuntimeStatus.Failed
    assert "invalid action" in json.loads(outcome.instance.output or "")


def test_an_answer_that_is_not_an_orchestrator_state_fails_the_instance() -> None:
    outcome = engine.complete_episode(_episode(), "[1, 2]", now=T0, new_id=lambda: "x")

    assert outcome.instance.runtime_status is RuntimeStatus.Failed


def test_an_entity_call_to_a_malformed_entity_id_fails_the_instance() -> None:
    call = {"actionType": 7, "instanceId": "counter", "operation": "add", "input": "1"}
    state = {"isDone": False, "schemaVersion": 2, "actions": [[call]]}

    outcome = engine.complete_episode(_episode(), json.dumps(state), now=T0, new_id=lambda: "x")

    assert outcome.instance.runtime_status is RuntimeStatus.Failed
    assert outcome.entity_messages == ()
