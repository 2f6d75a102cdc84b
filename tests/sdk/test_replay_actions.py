"""Given a history, the orchestrator replies with these actions (one shape per action type)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from factories import (
    BASE_TIME,
    HistoryBuilder,
    actions_of,
    orchestration_payload,
    replay_history,
)

import durable_functions as df
from durable_functions.errors import PayloadError
from durable_functions.options import ManagedIdentityTokenSource
from durable_functions.replay import replay

FRESH = HistoryBuilder().events
"""The first episode: nothing has happened yet."""


def first_actions(fn, **kw):
    return actions_of(replay_history(fn, FRESH, **kw))


def test_call_activity_sends_name_and_json_text_input():
    def orch(ctx):
        yield ctx.call_activity("hello", {"city": "Tokyo"})

    assert first_actions(orch) == [
        {"actionType": 0, "functionName": "hello", "input": '{"city": "Tokyo"}'}
    ]


def test_call_activity_without_input_sends_null_text():
    def orch(ctx):
        yield ctx.call_activity("hello")

    assert first_actions(orch)[0]["input"] == "null"


def test_call_activity_with_retry_is_wrapped_in_when_all_under_v3():
    def orch(ctx):
        yield ctx.call_activity_with_retry("flaky", df.RetryOptions(1000, 3), 2)

    assert first_actions(orch) == [
        {
            "actionType": 12,
            "compoundActions": [
                {
                    "actionType": 1,
                    "functionName": "flaky",
                    "input": "2",
                    "retryOptions": {
                        "firstRetryIntervalInMilliseconds": 1000,
                        "maxNumberOfAttempts": 3,
                    },
                }
            ],
        }
    ]


def test_call_sub_orchestrator_sends_instance_id_and_version():
    def orch(ctx):
        yield ctx.call_sub_orchestrator("child", 1, instance_id="c-1", version="2.0")

    assert first_actions(orch) == [
        {
            "actionType": 2,
            "functionName": "child",
            "input": "1",
            "instanceId": "c-1",
            "version": "2.0",
        }
    ]


def test_call_sub_orchestrator_sends_null_version_when_unset():
    def orch(ctx):
        yield ctx.call_sub_orchestrator("child")

    action = first_actions(orch)[0]
    assert (action["instanceId"], action["version"]) == (None, None)


def test_call_sub_orchestrator_with_retry_puts_retry_options_before_instance_id():
    def orch(ctx):
        yield ctx.call_sub_orchestrator_with_retry("child", df.RetryOptions(5, 2), version="v")

    (inner,) = first_actions(orch)[0]["compoundActions"]
    assert list(inner) == [
        "actionType",
        "functionName",
        "input",
        "retryOptions",
        "instanceId",
        "version",
    ]
    assert inner["actionType"] == 3


def test_create_timer_sends_fire_at_with_six_fraction_digits():
    def orch(ctx):
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=5))

    assert first_actions(orch) == [
        {"actionType": 5, "fireAt": "2024-05-01T10:05:00.123456Z", "isCanceled": False}
    ]


def test_cancelled_timer_is_sent_with_is_canceled_true():
    def orch(ctx):
        timer = ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=5))
        event = ctx.wait_for_external_event("go")
        winner = yield ctx.task_any([event, timer])
        timer.cancel()
        yield ctx.call_activity("after", winner.result)

    history = HistoryBuilder().new_episode().raise_event("go", 1).events
    actions = actions_of(replay_history(orch, history))
    assert actions[0]["compoundActions"][1]["isCanceled"] is True


def test_wait_for_external_event_sends_name_and_reason():
    def orch(ctx):
        yield ctx.wait_for_external_event("approval")

    assert first_actions(orch) == [
        {"actionType": 6, "externalEventName": "approval", "reason": "ExternalEvent"}
    ]


def test_call_entity_sends_scheduler_id_operation_and_input():
    def orch(ctx):
        yield ctx.call_entity(df.EntityId("Counter", "k1"), "add", 3)

    assert first_actions(orch) == [
        {"actionType": 7, "instanceId": "@counter@k1", "operation": "add", "input": "3"}
    ]


def test_signal_entity_is_sent_at_call_time_before_later_yields():
    def orch(ctx):
        ctx.signal_entity(df.EntityId("Counter", "k1"), "reset")
        yield ctx.call_activity("a")

    actions = first_actions(orch)
    assert [a["actionType"] for a in actions] == [9, 0]
    assert actions[0] == {
        "actionType": 9,
        "instanceId": "@counter@k1",
        "operation": "reset",
        "input": "null",
    }


def test_call_http_sends_json_encoded_content_and_token_source():
    def orch(ctx):
        yield ctx.call_http(
            "POST",
            "https://example.test/api",
            content={"a": 1},
            headers={"X-Test": "1"},
            token_source=ManagedIdentityTokenSource("https://management.core.windows.net/"),
        )

    assert first_actions(orch) == [
        {
            "actionType": 8,
            "httpRequest": {
                "method": "POST",
                "uri": "https://example.test/api",
                "content": '{"a": 1}',
                "headers": {"X-Test": "1"},
                "tokenSource": {
                    "resource": "https://management.core.windows.net/",
                    "kind": "AzureManagedIdentity",
                },
            },
        }
    ]


def test_call_http_quotes_a_string_body_unless_raw():
    def orch(ctx):
        yield ctx.task_all(
            [
                ctx.call_http("POST", "https://x.test", content="hi"),
                ctx.call_http("POST", "https://x.test", content="hi", is_raw_str=True),
            ]
        )

    children = first_actions(orch)[0]["compoundActions"]
    assert [c["httpRequest"]["content"] for c in children] == ['"hi"', "hi"]


def test_call_http_omits_token_source_when_none_given():
    def orch(ctx):
        yield ctx.call_http("GET", "https://x.test")

    assert "tokenSource" not in first_actions(orch)[0]["httpRequest"]


def test_call_http_rejects_raw_flag_with_non_string_content():
    def orch(ctx):
        yield ctx.call_http("POST", "https://x.test", content={"a": 1}, is_raw_str=True)

    result = replay_history(orch, FRESH)
    assert isinstance(result.exception, TypeError)


def test_continue_as_new_ends_the_episode_and_drops_later_actions():
    def orch(ctx):
        ctx.continue_as_new({"n": 2})
        yield ctx.call_activity("never sent")

    state = json.loads(replay_history(orch, FRESH).state_json)
    assert state["isDone"] is True
    assert state["actions"] == [[{"actionType": 4, "input": '{"n": 2}'}]]


def test_task_all_sends_one_when_all_with_its_children():
    def orch(ctx):
        yield ctx.task_all([ctx.call_activity("a"), ctx.call_activity("b")])

    (action,) = first_actions(orch)
    assert action["actionType"] == 12
    assert [c["functionName"] for c in action["compoundActions"]] == ["a", "b"]


def test_nested_task_any_inside_task_all_nests_compound_actions():
    def orch(ctx):
        inner = ctx.task_any([ctx.call_activity("b"), ctx.wait_for_external_event("e")])
        yield ctx.task_all([ctx.call_activity("a"), inner])

    (action,) = first_actions(orch)
    assert [c["actionType"] for c in action["compoundActions"]] == [0, 11]
    assert [c["actionType"] for c in action["compoundActions"][1]["compoundActions"]] == [0, 6]


def test_compound_leaves_out_children_already_scheduled_under_v3():
    def orch(ctx):
        first = ctx.call_activity("a")
        yield first
        yield ctx.task_all([first, ctx.call_activity("b")])

    history = HistoryBuilder().schedule_activity(0, "a").new_episode().complete_activity(0).events
    actions = actions_of(replay_history(orch, history))
    assert actions[1] == {
        "actionType": 12,
        "compoundActions": [{"actionType": 0, "functionName": "b", "input": "null"}],
    }


def test_schema_v1_sends_one_list_per_yield_and_repeats_scheduled_children():
    def orch(ctx):
        first = ctx.call_activity("a")
        yield first
        yield ctx.task_all([first, ctx.call_activity("b")])

    history = HistoryBuilder().schedule_activity(0, "a").new_episode().complete_activity(0).events
    state = json.loads(replay_history(orch, history, schema=0).state_json)
    assert "schemaVersion" not in state
    assert [[a["functionName"] for a in group] for group in state["actions"]] == [
        ["a"],
        ["a", "b"],
    ]


def test_schema_v2_reports_schema_version_1():
    def orch(ctx):
        yield ctx.call_activity("a")

    state = json.loads(replay_history(orch, FRESH, schema=1).state_json)
    assert state["schemaVersion"] == 1


@pytest.mark.parametrize(
    ("upper", "upper_new", "expected"),
    [
        pytest.param(0, None, None, id="v1"),
        pytest.param(1, None, 1, id="v2"),
        pytest.param(1, 2, 2, id="v3"),
        pytest.param(1, 7, 2, id="unknown-new-clamps-to-v3"),
        pytest.param(1, 0, 1, id="lower-new-ignored"),
    ],
)
def test_schema_negotiation_from_upper_schema_versions(upper, upper_new, expected):
    def orch(ctx):
        return None

    payload = orchestration_payload(FRESH)
    payload["upperSchemaVersion"] = upper
    payload.pop("upperSchemaVersionNew", None)
    if upper_new is not None:
        payload["upperSchemaVersionNew"] = upper_new
    state = json.loads(replay(orch, payload).state_json)
    assert state.get("schemaVersion") == expected


def test_unknown_upper_schema_version_is_a_payload_error():
    payload = orchestration_payload(FRESH)
    payload["upperSchemaVersion"] = 9
    with pytest.raises(PayloadError, match="upperSchemaVersion"):
        replay(lambda ctx: None, payload)


def test_fire_at_is_written_in_utc_for_an_aware_non_utc_datetime():
    from datetime import timezone

    plus_two = timezone(timedelta(hours=2))

    def orch(ctx):
        yield ctx.create_timer(BASE_TIME.astimezone(plus_two) + timedelta(minutes=1))

    assert first_actions(orch)[0]["fireAt"] == "2024-05-01T10:01:00.123456Z"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (0, {"isDone": False, "actions": [], "output": 3}),
        (1, {"isDone": False, "schemaVersion": 1, "actions": [], "output": 3}),
    ],
)
def test_orchestrator_state_takes_the_schema_number_as_the_references_tests_pass_it(
    schema, expected
):
    from durable_functions.models.OrchestratorState import OrchestratorState
    from durable_functions.models.ReplaySchema import ReplaySchema

    state = OrchestratorState(is_done=False, actions=[], output=3, replay_schema=schema)
    assert state.to_json() == expected
    assert state.schema_version == schema
    enum = OrchestratorState(
        is_done=False, actions=[], output=3, replay_schema=ReplaySchema(schema)
    )
    assert enum.to_json() == state.to_json()


def test_orchestrator_state_refuses_an_unknown_schema_number():
    from durable_functions.models.OrchestratorState import OrchestratorState

    with pytest.raises(ValueError, match="7 is not a valid ReplaySchema"):
        OrchestratorState(is_done=False, actions=[], output=None, replay_schema=7)
