"""Given completion events in history, tasks resolve and the code resumes as the host expects."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from factories import (
    BASE_TIME,
    HistoryBuilder,
    actions_of,
    entity_response,
    event_sent,
    orchestration_payload_json,
    replay_history,
    sub_orchestration_completed,
    sub_orchestration_created,
    sub_orchestration_failed,
    task_completed,
    task_failed,
    timer_created,
    timer_fired,
)

import durable_functions as df
from durable_functions.errors import (
    OrchestratorExecutionError,
    OrchestratorUsageError,
    SerializationError,
    TaskFailedError,
)
from durable_functions.replay import Orchestrator


def state_of(result):
    return json.loads(result.state_json)


def one_activity_history(*completion):
    return HistoryBuilder().schedule_activity(0, "a").new_episode().add(*completion).events


def test_completed_activity_value_is_sent_back_into_the_code():
    def orch(ctx):
        value = yield ctx.call_activity("a")
        return value * 2

    state = state_of(replay_history(orch, one_activity_history(task_completed(0, 21))))
    assert (state["isDone"], state["output"]) == (True, 42)


def test_completed_activity_is_not_scheduled_again():
    def orch(ctx):
        yield ctx.call_activity("a")
        yield ctx.call_activity("b")

    actions = actions_of(replay_history(orch, one_activity_history(task_completed(0, 1))))
    assert [a["functionName"] for a in actions] == ["a", "b"]


def test_failed_activity_raises_task_failed_error_with_reference_message():
    seen = []

    def orch(ctx):
        try:
            yield ctx.call_activity("a")
        except TaskFailedError as exc:
            seen.append(exc)
        return "handled"

    history = one_activity_history(task_failed(0, "Activity function 'a' failed: boom", "trace"))
    replay_history(orch, history)
    (error,) = seen
    assert str(error) == "Activity function 'a' failed: boom \n trace"
    assert (error.reason, error.details) == ("Activity function 'a' failed: boom", "trace")


def test_unhandled_activity_failure_fails_the_orchestration_with_its_message():
    def orch(ctx):
        yield ctx.call_activity("a")

    result = replay_history(orch, one_activity_history(task_failed(0, "bad", None)))
    assert state_of(result)["error"] == "bad \n None"


def test_sub_orchestration_result_is_sent_back_into_the_code():
    def orch(ctx):
        return (yield ctx.call_sub_orchestrator("child"))

    history = (
        HistoryBuilder()
        .add(sub_orchestration_created(0, "child"))
        .new_episode()
        .add(sub_orchestration_completed(0, {"ok": True}))
        .events
    )
    assert state_of(replay_history(orch, history))["output"] == {"ok": True}


def test_sub_orchestration_failure_raises_task_failed_error():
    def orch(ctx):
        try:
            yield ctx.call_sub_orchestrator("child")
        except TaskFailedError as exc:
            return str(exc)

    history = (
        HistoryBuilder()
        .add(sub_orchestration_created(0, "child"))
        .new_episode()
        .add(sub_orchestration_failed(0, "Orchestrator function 'child' failed: x", "d"))
        .events
    )
    output = state_of(replay_history(orch, history))["output"]
    assert output == "Orchestrator function 'child' failed: x \n d"


def test_fired_timer_resumes_the_code_with_none():
    fire_at = BASE_TIME + timedelta(minutes=1)

    def orch(ctx):
        return (yield ctx.create_timer(fire_at))

    history = HistoryBuilder().create_timer(0, fire_at).new_episode().fire_timer(0, fire_at).events
    state = state_of(replay_history(orch, history))
    assert state["isDone"] is True
    assert "output" not in state


def test_task_all_value_lists_results_in_the_given_order():
    def orch(ctx):
        return (yield ctx.task_all([ctx.call_activity("a"), ctx.call_activity("b")]))

    history = (
        HistoryBuilder()
        .schedule_activity(0, "a")
        .schedule_activity(1, "b")
        .new_episode()
        .complete_activity(1, "B")
        .complete_activity(0, "A")
        .events
    )
    assert state_of(replay_history(orch, history))["output"] == ["A", "B"]


def test_task_all_fails_with_the_first_child_failure():
    def orch(ctx):
        try:
            yield ctx.task_all([ctx.call_activity("a"), ctx.call_activity("b")])
        except TaskFailedError as exc:
            return exc.reason

    history = (
        HistoryBuilder()
        .schedule_activity(0, "a")
        .schedule_activity(1, "b")
        .new_episode()
        .fail_activity(1, "second")
        .fail_activity(0, "first")
        .events
    )
    assert state_of(replay_history(orch, history))["output"] == "second"


def test_task_any_returns_the_winning_task():
    def orch(ctx):
        a, b = ctx.call_activity("a"), ctx.call_activity("b")
        winner = yield ctx.task_any([a, b])
        return [winner is b, winner.result]

    history = (
        HistoryBuilder()
        .schedule_activity(0, "a")
        .schedule_activity(1, "b")
        .new_episode()
        .complete_activity(1, "B")
        .events
    )
    assert state_of(replay_history(orch, history))["output"] == [True, "B"]


def test_task_all_of_no_tasks_completes_with_none():
    def orch(ctx):
        return [(yield ctx.task_all([])), "after"]

    assert state_of(replay_history(orch, HistoryBuilder().events))["output"] == [None, "after"]


def test_yielding_a_completed_task_again_resumes_at_once():
    def orch(ctx):
        task = ctx.call_activity("a")
        first = yield task
        second = yield task
        return [first, second]

    state = state_of(replay_history(orch, one_activity_history(task_completed(0, 5))))
    assert state["output"] == [5, 5]


def test_thousands_of_immediate_resumptions_do_not_exhaust_the_stack():
    def orch(ctx):
        task = ctx.call_activity("a")
        total = 0
        for _ in range(5000):
            total += yield task
        return total

    state = state_of(replay_history(orch, one_activity_history(task_completed(0, 1))))
    assert state["output"] == 5000


def test_completion_for_a_task_scheduled_later_is_applied_when_it_is_scheduled():
    def orch(ctx):
        yield ctx.call_activity("a")

    # The completion arrives before anything scheduled id 0 in this replay.
    history = HistoryBuilder().new_episode().add(task_completed(0, 1)).events
    assert state_of(replay_history(orch, history))["isDone"] is True


def test_early_completion_is_applied_once_even_if_it_repeats():
    def orch(ctx):
        yield ctx.wait_for_external_event("go")
        (value,) = yield ctx.task_all([ctx.call_activity("a")])
        yield ctx.wait_for_external_event("end")
        return value

    history = (
        HistoryBuilder()
        .new_episode()
        .add(task_completed(0, 1))
        .raise_event("go")
        .add(task_completed(0, 2))
        .raise_event("end")
        .events
    )
    result = replay_history(orch, history)
    assert (result.exception, result.output) == (None, 1)


# --------------------------------------------------------------------------- retries


def retry_orch(ctx):
    return (yield ctx.call_activity_with_retry("flaky", df.RetryOptions(1000, 2)))


def test_retry_succeeds_on_the_second_attempt():
    history = (
        HistoryBuilder()
        .schedule_activity(0, "flaky")
        .new_episode()
        .fail_activity(0)
        .create_timer(1, BASE_TIME)
        .new_episode()
        .fire_timer(1, BASE_TIME)
        .schedule_activity(2, "flaky")
        .new_episode()
        .complete_activity(2, "ok")
        .events
    )
    state = state_of(replay_history(retry_orch, history))
    assert (state["isDone"], state["output"]) == (True, "ok")


def test_retry_waits_for_the_timer_after_the_last_attempt_before_failing():
    history = (
        HistoryBuilder()
        .schedule_activity(0, "flaky")
        .new_episode()
        .fail_activity(0)
        .create_timer(1, BASE_TIME)
        .new_episode()
        .fire_timer(1, BASE_TIME)
        .schedule_activity(2, "flaky")
        .new_episode()
        .fail_activity(2, "last")
        .create_timer(3, BASE_TIME)
    )
    before_timer = replay_history(retry_orch, history.events)
    assert (before_timer.exception, before_timer.state.is_done) == (None, False)
    after_timer = replay_history(retry_orch, history.new_episode().fire_timer(3, BASE_TIME).events)
    assert isinstance(after_timer.exception, TaskFailedError)
    assert after_timer.exception.reason == "last"


def test_retry_task_ids_keep_later_tasks_aligned_with_history():
    def orch(ctx):
        yield ctx.call_activity_with_retry("flaky", df.RetryOptions(1000, 3))
        yield ctx.call_activity("next")

    history = (
        HistoryBuilder()
        .schedule_activity(0, "flaky")
        .new_episode()
        .fail_activity(0)
        .create_timer(1, BASE_TIME)
        .new_episode()
        .fire_timer(1, BASE_TIME)
        .schedule_activity(2, "flaky")
        .new_episode()
        .complete_activity(2)
        .schedule_activity(3, "next")
        .new_episode()
        .complete_activity(3, "done")
        .events
    )
    result = replay_history(orch, history)
    assert (result.exception, result.state.is_done) == (None, True)


# --------------------------------------------------------------------------- long timers


def long_timer_orch(ctx):
    return (yield ctx.create_timer(BASE_TIME + timedelta(days=7)))


def test_long_timer_first_interval_is_sent_wrapped_in_when_all():
    actions = actions_of(replay_history(long_timer_orch, HistoryBuilder().events, long_timers=True))
    assert actions == [
        {
            "actionType": 12,
            "compoundActions": [
                {"actionType": 5, "fireAt": "2024-05-04T10:00:00.123456Z", "isCanceled": False}
            ],
        }
    ]


def test_long_timer_schedules_the_rest_when_the_first_interval_fires():
    first = BASE_TIME + timedelta(days=3)
    history = (
        HistoryBuilder()
        .create_timer(0, first)
        .new_episode(advance=timedelta(days=3))
        .fire_timer(0, first)
        .events
    )
    actions = actions_of(replay_history(long_timer_orch, history, long_timers=True))
    assert actions[1] == {
        "actionType": 5,
        "fireAt": "2024-05-08T10:00:00.123456Z",
        "isCanceled": False,
    }


def test_long_timer_value_is_a_one_element_list():
    first, final = BASE_TIME + timedelta(days=3), BASE_TIME + timedelta(days=7)
    history = (
        HistoryBuilder()
        .create_timer(0, first)
        .new_episode(advance=timedelta(days=3))
        .fire_timer(0, first)
        .create_timer(1, final)
        .new_episode(advance=timedelta(days=4))
        .fire_timer(1, final)
        .events
    )
    state = state_of(replay_history(long_timer_orch, history, long_timers=True))
    assert state["output"] == [None]


def test_short_timer_is_not_split_when_backend_limits_timers():
    def orch(ctx):
        yield ctx.create_timer(BASE_TIME + timedelta(days=1))

    actions = actions_of(replay_history(orch, HistoryBuilder().events, long_timers=True))
    assert actions[0]["actionType"] == 5


# --------------------------------------------------------------------------- external events


def test_event_raised_before_the_wait_is_delivered_when_waiting():
    def orch(ctx):
        yield ctx.call_activity("a")
        return (yield ctx.wait_for_external_event("go"))

    history = (
        HistoryBuilder()
        .schedule_activity(0, "a")
        .new_episode()
        .raise_event("go", "early")
        .complete_activity(0)
        .events
    )
    assert state_of(replay_history(orch, history))["output"] == "early"


def test_event_raised_after_the_wait_completes_it():
    def orch(ctx):
        return (yield ctx.wait_for_external_event("go"))

    history = HistoryBuilder().new_episode().raise_event("go", {"v": 1}).events
    assert state_of(replay_history(orch, history))["output"] == {"v": 1}


def test_early_events_are_consumed_once_in_arrival_order():
    def orch(ctx):
        yield ctx.call_activity("a")
        values = []
        for _ in range(3):
            values.append((yield ctx.wait_for_external_event("go")))
        return values

    history = (
        HistoryBuilder()
        .schedule_activity(0, "a")
        .new_episode()
        .raise_event("go", 1)
        .raise_event("go", 2)
        .complete_activity(0)
    )
    pending = replay_history(orch, history.events)
    assert pending.state.is_done is False
    done = replay_history(orch, history.new_episode().raise_event("go", 3).events)
    assert state_of(done)["output"] == [1, 2, 3]


def test_concurrent_waiters_for_one_name_are_served_first_come_first_served():
    def orch(ctx):
        first = ctx.wait_for_external_event("go")
        second = ctx.wait_for_external_event("go")
        return (yield ctx.task_all([first, second]))

    history = HistoryBuilder().new_episode().raise_event("go", "a").raise_event("go", "b").events
    assert state_of(replay_history(orch, history))["output"] == ["a", "b"]


def test_waiter_abandoned_by_a_finished_task_any_does_not_swallow_the_event():
    def orch(ctx):
        timer = ctx.create_timer(BASE_TIME)
        yield ctx.task_any([ctx.wait_for_external_event("go"), timer])
        return (yield ctx.wait_for_external_event("go"))

    history = (
        HistoryBuilder()
        .create_timer(0, BASE_TIME)
        .new_episode()
        .fire_timer(0, BASE_TIME)
        .new_episode()
        .raise_event("go", "second wait")
        .events
    )
    assert state_of(replay_history(orch, history))["output"] == "second wait"


def test_events_of_other_names_do_not_complete_a_wait():
    def orch(ctx):
        return (yield ctx.wait_for_external_event("go"))

    history = HistoryBuilder().new_episode().raise_event("other", 1).events
    assert replay_history(orch, history).state.is_done is False


# --------------------------------------------------------------------------- entities


def entity_call_history(*response):
    return (
        HistoryBuilder()
        .add(event_sent(0, "@counter@k1", "get", "req-1"))
        .new_episode()
        .add(*response)
        .events
    )


def entity_orch(ctx):
    return (yield ctx.call_entity(df.EntityId("Counter", "k1"), "get"))


def test_entity_call_completes_with_the_response_to_its_request_id():
    history = entity_call_history(entity_response("req-1", 7))
    assert state_of(replay_history(entity_orch, history))["output"] == 7


def test_entity_error_response_raises_task_failed_error_with_the_message():
    def orch(ctx):
        try:
            yield ctx.call_entity(df.EntityId("Counter", "k1"), "get")
        except TaskFailedError as exc:
            return str(exc)

    history = entity_call_history(entity_response("req-1", "no such op", error=True))
    assert state_of(replay_history(orch, history))["output"] == "no such op"


def test_entity_timeout_response_fails_the_call():
    history = entity_call_history(
        {**entity_response("req-1"), "Input": json.dumps({"result": "Timeout value of 1s"})}
    )
    result = replay_history(entity_orch, history)
    assert str(result.exception) == "Timeout value of 1s"


def test_yielding_a_signal_task_resumes_without_a_second_action():
    def orch(ctx):
        yield ctx.signal_entity(df.EntityId("Counter", "k1"), "add", 1)
        return "after"

    result = replay_history(orch, HistoryBuilder().events)
    assert state_of(result)["output"] == "after"
    assert [a["actionType"] for a in actions_of(result)] == [9]


# --------------------------------------------------------------------------- outcome


def test_custom_status_is_sent_when_truthy():
    def orch(ctx):
        ctx.set_custom_status({"step": 1})
        yield ctx.call_activity("a")

    assert state_of(replay_history(orch, HistoryBuilder().events))["customStatus"] == {"step": 1}


@pytest.mark.parametrize("status", [0, "", False, [], {}], ids=repr)
def test_falsy_custom_status_is_left_out(status):
    def orch(ctx):
        ctx.set_custom_status(status)
        yield ctx.call_activity("a")

    assert "customStatus" not in state_of(replay_history(orch, HistoryBuilder().events))


def test_orchestrator_exception_is_reported_with_state_after_the_out_of_proc_label():
    def orch(ctx):
        yield ctx.call_activity("a")
        raise ValueError("broken")

    handler = Orchestrator.create(orch)
    with pytest.raises(OrchestratorExecutionError) as info:
        handler(orchestration_payload_json(one_activity_history(task_completed(0))))
    message, state_json = str(info.value).split("\n\n$OutOfProcData$:")
    assert message == "broken"
    assert json.loads(state_json)["error"] == "broken"
    assert isinstance(info.value.__cause__, ValueError)


def test_exception_without_message_is_reported_by_its_type():
    def orch(ctx):
        yield ctx.call_activity("a")
        raise ValueError()

    result = replay_history(orch, one_activity_history(task_completed(0)))
    assert result.error == "<class 'ValueError'>"


def test_output_that_is_not_plain_json_fails_the_orchestration():
    def orch(ctx):
        yield ctx.call_activity("a")
        return object()

    result = replay_history(orch, one_activity_history(task_completed(0)))
    state = state_of(result)
    assert "output" not in state
    assert "not JSON serializable" in state["error"]


def test_non_generator_orchestrator_return_value_is_the_output():
    state = state_of(replay_history(lambda ctx: {"plain": True}, HistoryBuilder().events))
    assert state == {"isDone": True, "schemaVersion": 2, "actions": [[]], "output": {"plain": True}}


def test_non_generator_orchestrator_can_continue_as_new():
    def orch(ctx):
        ctx.continue_as_new(5)

    state = state_of(replay_history(orch, HistoryBuilder().events))
    assert state == {
        "isDone": True,
        "schemaVersion": 2,
        "actions": [[{"actionType": 4, "input": "5"}]],
    }


def test_non_generator_orchestrator_exception_is_raised_unlabelled():
    def orch(ctx):
        raise KeyError("plain")

    handler = Orchestrator.create(orch)
    with pytest.raises(KeyError):
        handler(orchestration_payload_json(HistoryBuilder().events))


def test_async_generator_orchestrator_fails_with_a_usage_error():
    async def orch(ctx):
        yield ctx.call_activity("a")

    result = replay_history(orch, HistoryBuilder().events)
    assert isinstance(result.exception, OrchestratorUsageError)
    assert "cannot also yield" in str(result.exception)


def test_yielding_something_other_than_a_task_fails_with_a_usage_error():
    def orch(ctx):
        yield "not a task"

    result = replay_history(orch, HistoryBuilder().events)
    assert isinstance(result.exception, OrchestratorUsageError)


def test_undecodable_result_fails_the_task_in_the_code():
    def orch(ctx):
        try:
            yield ctx.call_activity("a")
        except SerializationError:
            return "caught"

    history = one_activity_history(task_completed(0, result_json="{not json"))
    assert state_of(replay_history(orch, history))["output"] == "caught"


def test_events_after_the_orchestrator_returned_are_not_processed():
    def orch(ctx):
        return (yield ctx.call_activity("a"))

    history = one_activity_history(task_completed(0, 1), timer_fired(99), timer_created(5))
    result = replay_history(orch, history)
    assert (result.exception, state_of(result)["output"]) == (None, 1)
