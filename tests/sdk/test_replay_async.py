"""``async def`` orchestrators: given a history, the same actions as ``yield`` would send."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest
from factories import (
    BASE_TIME,
    HistoryBuilder,
    actions_of,
    entity_response,
    event_sent,
    orchestration_payload,
    orchestration_payload_json,
    replay_history,
    sub_orchestration_completed,
    sub_orchestration_created,
    timer_created,
    timer_fired,
)
from order_example import process_order

import durable_functions as df
from durable_functions.errors import NonDurableAwaitError, OrchestratorExecutionError
from durable_functions.replay import OrchestrationSession, Orchestrator

FRESH = HistoryBuilder().events
ORDER = {"payments": [10, 20]}


def test_first_episode_schedules_the_first_awaited_activity():
    result = replay_history(process_order, FRESH, input=ORDER)

    assert result.exception is None and not result.is_done
    assert actions_of(result) == [
        {"actionType": 0, "functionName": "reserve", "input": json.dumps(ORDER)}
    ]


def test_a_completed_activity_resumes_the_await_with_its_value_and_fans_out():
    history = (
        HistoryBuilder(input=ORDER)
        .schedule_activity(0, "reserve", ORDER)
        .new_episode()
        .complete_activity(0, "ok")
        .events
    )

    result = replay_history(process_order, history, input=ORDER)

    assert [a.get("functionName") for a in actions_of(result)] == [
        "reserve",
        None,  # the WhenAll compound action of task_all
    ]
    assert actions_of(result)[1] == {
        "actionType": 12,
        "compoundActions": [
            {"actionType": 0, "functionName": "charge", "input": "10"},
            {"actionType": 0, "functionName": "charge", "input": "20"},
        ],
    }


def test_the_whole_example_completes_with_every_awaited_value():
    hour = BASE_TIME + timedelta(seconds=2, hours=1)
    history = (
        HistoryBuilder(input=ORDER)
        .schedule_activity(0, "reserve", ORDER)
        .new_episode()
        .complete_activity(0, "ok")
        .schedule_activity(1, "charge", 10)
        .schedule_activity(2, "charge", 20)
        .new_episode()
        .complete_activity(1, "c10")
        .complete_activity(2, "c20")
        .add(timer_created(3, hour))
        .new_episode()
        .raise_event("cancel", "by user")
        .add(sub_orchestration_created(4, "ship"))
        .new_episode()
        .add(sub_orchestration_completed(4, "shipped"))
        .events
    )

    result = replay_history(process_order, history, input=ORDER)

    assert result.exception is None
    assert result.output == {
        "results": ["c10", "c20"],
        "summary": "shipped",
        "cancelled": "by user",
    }


def test_a_failed_task_raises_at_the_await_and_can_be_caught():
    async def orch(ctx):
        try:
            await ctx.call_activity("flaky")
        except Exception as exc:
            return f"caught: {exc}"
        return "not reached"

    history = (
        HistoryBuilder().schedule_activity(0, "flaky").new_episode().fail_activity(0, "boom").events
    )

    result = replay_history(orch, history)

    assert result.output.startswith("caught: boom")


def test_an_uncaught_failure_fails_the_orchestration_as_a_generator_would():
    async def orch(ctx):
        await ctx.call_activity("flaky")

    def gen(ctx):
        yield ctx.call_activity("flaky")

    history = (
        HistoryBuilder().schedule_activity(0, "flaky").new_episode().fail_activity(0, "boom").events
    )

    assert replay_history(orch, history).state_json == replay_history(gen, history).state_json
    assert "boom" in (replay_history(orch, history).error or "")


def test_helper_coroutines_can_await_durable_tasks():
    async def charge_all(ctx, amounts):
        return [await ctx.call_activity("charge", amount) for amount in amounts]

    async def orch(ctx):
        return await charge_all(ctx, [1, 2])

    history = (
        HistoryBuilder()
        .schedule_activity(0, "charge", 1)
        .new_episode()
        .complete_activity(0, "one")
        .schedule_activity(1, "charge", 2)
        .new_episode()
        .complete_activity(1, "two")
        .events
    )

    assert replay_history(orch, history).output == ["one", "two"]


def test_retry_entity_http_and_long_timer_send_the_generator_actions():
    """One orchestrator per kind of task; the async and generator forms send the same JSON."""
    entity = df.EntityId("Counter", "k")
    far = BASE_TIME + timedelta(days=10)
    makers = {
        "retry": lambda c: c.call_activity_with_retry("a", df.RetryOptions(1000, 3), 1),
        "sub-retry": lambda c: c.call_sub_orchestrator_with_retry("s", df.RetryOptions(5, 2)),
        "entity": lambda c: c.call_entity(entity, "add", 1),
        "http": lambda c: c.call_http("GET", "https://example.com"),
        "long-timer": lambda c: c.create_timer(far),
        "nested": lambda c: c.task_any(
            [
                c.task_all([c.call_activity("x"), c.create_timer(far)]),
                c.wait_for_external_event("e"),
            ]
        ),
    }
    for name, make in makers.items():

        async def orch(ctx, make=make):
            return await make(ctx)

        def gen(ctx, make=make):
            return (yield make(ctx))

        for long_timers in (False, True):
            ours = replay_history(orch, FRESH, long_timers=long_timers)
            theirs = replay_history(gen, FRESH, long_timers=long_timers)
            assert ours.exception is None, name
            assert ours.state_json == theirs.state_json, name


def test_an_entity_call_resumes_with_the_entity_response():
    async def orch(ctx):
        return await ctx.call_entity(df.EntityId("Counter", "k"), "get")

    history = (
        HistoryBuilder()
        .add(event_sent(0, "@counter@k", "get", "req-1"))
        .new_episode()
        .add(entity_response("req-1", 42))
        .events
    )

    assert replay_history(orch, history).output == 42


def test_a_fired_timer_resumes_the_await():
    fire_at = BASE_TIME + timedelta(minutes=5)

    async def orch(ctx):
        await ctx.create_timer(fire_at)
        return ctx.current_utc_datetime.isoformat()

    history = (
        HistoryBuilder()
        .add(timer_created(0, fire_at))
        .new_episode(timedelta(minutes=5))
        .add(timer_fired(0, fire_at))
        .events
    )

    assert (
        replay_history(orch, history).output
        == (BASE_TIME + timedelta(minutes=5, seconds=0)).isoformat()
    )


def test_continue_as_new_custom_status_uuid_and_replaying_behave_as_in_a_generator():
    async def orch(ctx):
        seen = [ctx.is_replaying, ctx.new_uuid()]
        ctx.set_custom_status({"stage": 1})
        await ctx.call_activity("a")
        seen += [ctx.is_replaying, ctx.new_uuid(), ctx.current_utc_datetime.isoformat()]
        ctx.continue_as_new(seen)

    def gen(ctx):
        seen = [ctx.is_replaying, ctx.new_uuid()]
        ctx.set_custom_status({"stage": 1})
        yield ctx.call_activity("a")
        seen += [ctx.is_replaying, ctx.new_uuid(), ctx.current_utc_datetime.isoformat()]
        ctx.continue_as_new(seen)

    history = (
        HistoryBuilder(played=True)
        .schedule_activity(0, "a")
        .new_episode()
        .complete_activity(0)
        .events
    )
    for events in (FRESH, history):
        ours = replay_history(orch, events)
        assert ours.state_json == replay_history(gen, events).state_json
    state = json.loads(ours.state_json)
    assert state["isDone"] and state["customStatus"] == {"stage": 1}
    assert state["actions"][0][-1]["actionType"] == 4  # ContinueAsNew


def test_v1_orchestrator_create_accepts_an_async_function():
    async def orch(ctx):
        return await ctx.call_activity("a", ctx.get_input())

    handler = Orchestrator.create(orch)
    history = HistoryBuilder().schedule_activity(0, "a").new_episode().complete_activity(0, 7)

    state = json.loads(handler(orchestration_payload_json(history.events, input=3)))

    assert state["isDone"] and state["output"] == 7


def test_a_session_carries_the_coroutine_from_episode_to_episode():
    async def orch(ctx):
        total = 0
        for i in range(3):
            total += await ctx.call_activity("add", i)
        return total

    builder = HistoryBuilder()
    session = OrchestrationSession(orch, orchestration_payload(builder.events))
    for i in range(3):
        builder.schedule_activity(i, "add", i).new_episode().complete_activity(i, i * 10)
        events = builder.events
        session.advance(events[session.history_length :])

    assert session.result.output == 30
    assert not session.alive


# ---- awaiting something that is not a durable task ----------------------------------------


async def sleeps(ctx):
    await asyncio.sleep(1)


async def yields_to_the_loop(ctx):
    await asyncio.sleep(0)


async def gathers(ctx):
    await asyncio.gather(ctx.call_activity("a"), ctx.call_activity("b"))


async def waits_for(ctx):
    await asyncio.wait_for(ctx.call_activity("a"), 5)


async def opens_a_connection(ctx):
    await asyncio.open_connection("127.0.0.1", 9)


async def catches_the_error(ctx):
    try:
        await asyncio.sleep(1)
    except Exception as exc:
        return f"went on after {type(exc).__name__}"
    return "went on"


async def waits_for_an_asyncio_event(ctx):
    await asyncio.Event().wait()


async def runs_a_thread(ctx):
    await asyncio.to_thread(print, "from a thread")


async def awaits_a_future_of_another_loop(ctx):
    loop = asyncio.new_event_loop()
    try:
        await loop.create_future()
    finally:
        loop.close()


class Bare:
    def __await__(self):
        yield "something"


async def awaits_a_custom_awaitable(ctx):
    await Bare()


@pytest.mark.parametrize(
    ("orch", "awaited", "instead"),
    [
        pytest.param(sleeps, "asyncio.sleep", "context.create_timer", id="asyncio.sleep"),
        pytest.param(yields_to_the_loop, "asyncio.sleep", "context.create_timer", id="sleep-0"),
        pytest.param(gathers, "asyncio.gather", "context.task_all", id="asyncio.gather"),
        pytest.param(waits_for, "asyncio.wait_for", "context.task_any", id="asyncio.wait_for"),
        pytest.param(opens_a_connection, "asyncio.open_connection", "activity", id="io"),
        pytest.param(catches_the_error, "asyncio.sleep", "create_timer", id="caught-anyway"),
        pytest.param(awaits_a_custom_awaitable, "'something'", "activity", id="custom"),
        pytest.param(waits_for_an_asyncio_event, "asyncio.Event.wait", "activity", id="event"),
        pytest.param(runs_a_thread, "asyncio.to_thread", "activity", id="to_thread"),
        pytest.param(awaits_a_future_of_another_loop, "asyncio.Future", "activity", id="future"),
    ],
)
def test_awaiting_a_non_durable_awaitable_fails_with_a_named_error(orch, awaited, instead):
    result = replay_history(orch, FRESH)

    assert isinstance(result.exception, NonDurableAwaitError)
    assert f"awaited {awaited}," in str(result.exception)
    assert instead in result.exception.instead
    assert result.error == str(result.exception)
    assert json.loads(result.state_json)["isDone"] is False  # failed, not finished with a value


def test_the_handler_reports_the_named_error_in_the_host_format():
    handler = Orchestrator.create(sleeps)

    with pytest.raises(OrchestratorExecutionError, match="awaited asyncio.sleep") as caught:
        handler(orchestration_payload_json(FRESH))

    assert "$OutOfProcData$" in str(caught.value)


async def test_replay_inside_a_running_loop_leaves_that_loop_in_place():
    """The guard stands in for the running loop only while the coroutine runs."""
    loop = asyncio.get_running_loop()

    result = replay_history(gathers, FRESH)

    assert isinstance(result.exception, NonDurableAwaitError)
    assert asyncio.get_running_loop() is loop
    await asyncio.sleep(0)


def test_a_coroutine_that_stops_being_driven_is_closed():
    closed = []

    async def orch(ctx):
        try:
            await ctx.call_activity("a")
            ctx.continue_as_new(None)
            await ctx.call_activity("never")
        finally:
            closed.append(True)

    history = HistoryBuilder().schedule_activity(0, "a").new_episode().complete_activity(0).events

    result = replay_history(orch, history)

    assert result.is_done and closed == [True]


def test_logging_in_an_async_orchestrator_is_no_misuse(caplog: pytest.LogCaptureFixture) -> None:
    """``logging`` asks asyncio for the current task (Python 3.12+): that must stay harmless."""

    async def orch(ctx):
        logging.getLogger("orders").warning("replaying=%s", ctx.is_replaying)
        assert asyncio.current_task() is None
        return await ctx.call_activity("a")

    history = (
        HistoryBuilder().schedule_activity(0, "a").new_episode().complete_activity(0, 1).events
    )

    result = replay_history(orch, history)

    assert result.exception is None and result.output == 1
    assert "replaying=True" in caplog.text  # logged while replaying the first step
