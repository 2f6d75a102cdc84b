"""Task objects: states, values and how completions reach compound tasks."""

from __future__ import annotations

import pytest
from factories import HistoryBuilder, orchestration_payload

import durable_functions as df
from durable_functions.context import DurableOrchestrationContext
from durable_functions.tasks import (
    AtomicTask,
    CompoundTask,
    LongTimerTask,
    RetryAbleTask,
    TaskBase,
    TaskState,
    TimerTask,
    WhenAllTask,
    WhenAnyTask,
)


@pytest.fixture
def ctx() -> DurableOrchestrationContext:
    return DurableOrchestrationContext.from_dict(orchestration_payload(HistoryBuilder().events))


def test_new_task_is_running_without_id(ctx):
    task = ctx.call_activity("a")
    assert (task.state, task.id, task.is_completed) == (TaskState.RUNNING, None, False)


def test_set_value_succeeds_a_task(ctx):
    task = ctx.call_activity("a")
    task.set_value(is_error=False, value=3)
    assert (task.state, task.result, task.is_completed) == (TaskState.SUCCEEDED, 3, True)


def test_set_value_error_requires_an_exception(ctx):
    task = ctx.call_activity("a")
    with pytest.raises(TypeError, match="not an Exception"):
        task.set_value(is_error=True, value="text")


def test_change_state_refuses_running(ctx):
    with pytest.raises(ValueError, match="RUNNING"):
        ctx.call_activity("a").change_state(TaskState.RUNNING)


def test_when_all_completes_when_the_last_child_does(ctx):
    a, b = ctx.call_activity("a"), ctx.call_activity("b")
    both = ctx.task_all([a, b])
    b.set_value(False, "B")
    assert both.state is TaskState.RUNNING
    a.set_value(False, "A")
    assert (both.state, both.result) == (TaskState.SUCCEEDED, ["A", "B"])


def test_when_all_fails_on_the_first_child_failure(ctx):
    a, b = ctx.call_activity("a"), ctx.call_activity("b")
    both = ctx.task_all([a, b])
    error = ValueError("x")
    a.set_value(True, error)
    assert (both.state, both.result) == (TaskState.FAILED, error)


def test_when_any_value_is_the_first_completed_child(ctx):
    a, b = ctx.call_activity("a"), ctx.call_activity("b")
    either = ctx.task_any([a, b])
    b.set_value(False, "B")
    a.set_value(False, "A")
    assert either.result is b


def test_compound_of_already_completed_children_completes_at_construction(ctx):
    a = ctx.call_activity("a")
    a.set_value(False, 1)
    assert ctx.task_all([a]).result == [1]


def test_compound_tracks_pending_and_completed_children(ctx):
    a, b = ctx.call_activity("a"), ctx.call_activity("b")
    both = ctx.task_all([a, b])
    a.set_value(False, 1)
    assert (both.pending_tasks, both.completed_tasks, both.children) == ({b}, [a], [a, b])


def test_task_all_rejects_values_that_are_not_tasks(ctx):
    with pytest.raises(df.DurableError, match="task_all"):
        ctx.task_all(["not a task"])


def test_timer_cancel_flips_is_cancelled(ctx):
    timer = ctx.create_timer(ctx.current_utc_datetime)
    timer.cancel()
    assert isinstance(timer, TimerTask)
    assert timer.is_cancelled is True


def test_completed_timer_cannot_be_cancelled(ctx):
    timer = ctx.create_timer(ctx.current_utc_datetime)
    timer.set_value(False, None)
    with pytest.raises(ValueError, match="completed"):
        timer.cancel()


def test_retry_task_exposes_its_proxy_id_and_options(ctx):
    options = df.RetryOptions(1000, 3)
    task = ctx.call_activity_with_retry("a", options)
    assert isinstance(task, RetryAbleTask)
    assert (task.id_, task.retry_options, task.num_attempts) == (
        "[None]_retryable_proxy",
        options,
        1,
    )


def test_task_classes_form_the_reference_hierarchy():
    assert issubclass(AtomicTask, TaskBase)
    assert issubclass(WhenAllTask, CompoundTask)
    assert issubclass(WhenAnyTask, CompoundTask)
    assert issubclass(LongTimerTask, WhenAllTask)
    assert issubclass(RetryAbleTask, WhenAllTask)


def test_long_timer_is_created_for_timers_beyond_the_backend_maximum():
    from datetime import timedelta

    payload = orchestration_payload(HistoryBuilder().events, long_timers=True)
    ctx = DurableOrchestrationContext.from_dict(payload)
    timer = ctx.create_timer(ctx.current_utc_datetime + timedelta(days=10))
    assert isinstance(timer, LongTimerTask)
    assert timer.is_canceled() is False
