"""Time, ids and the replay flag are deterministic functions of the history."""

from __future__ import annotations

import uuid
from datetime import timedelta

from factories import BASE_TIME, HistoryBuilder, replay_history


def record(fn):
    """Run ``fn(ctx)`` at each resumption point and collect what it returns."""
    seen = []

    def orch(ctx):
        seen.append(fn(ctx))
        yield ctx.call_activity("a")
        seen.append(fn(ctx))
        yield ctx.call_activity("b")
        seen.append(fn(ctx))

    return orch, seen


TWO_DONE = (
    HistoryBuilder()
    .schedule_activity(0, "a")
    .new_episode()
    .complete_activity(0)
    .schedule_activity(1, "b")
    .new_episode()
    .complete_activity(1)
)


def test_current_utc_datetime_is_the_start_of_the_episode_that_resumed_the_code():
    orch, seen = record(lambda ctx: ctx.current_utc_datetime)
    replay_history(orch, TWO_DONE.events)
    assert seen == [BASE_TIME, BASE_TIME + timedelta(seconds=1), BASE_TIME + timedelta(seconds=2)]


def test_current_utc_datetime_is_aware_utc():
    orch, seen = record(lambda ctx: ctx.current_utc_datetime.utcoffset())
    replay_history(orch, HistoryBuilder().events)
    assert seen == [timedelta(0)]


def test_current_utc_datetime_can_be_set():
    later = BASE_TIME + timedelta(hours=1)

    def orch(ctx):
        ctx.current_utc_datetime = later
        return ctx.current_utc_datetime.isoformat()

    assert replay_history(orch, HistoryBuilder().events).output == later.isoformat()


def test_is_replaying_is_true_for_past_episodes_and_false_for_the_new_one():
    orch, seen = record(lambda ctx: ctx.is_replaying)
    replay_history(orch, TWO_DONE.events)
    assert seen == [True, True, False]


def test_is_replaying_follows_is_played_flags_when_the_backend_sets_them():
    history = HistoryBuilder(played=True).schedule_activity(0, "a").new_episode()
    history.complete_activity(0)
    orch, seen = record(lambda ctx: ctx.is_replaying)
    replay_history(orch, history.events)
    assert seen == [True, False]


def test_is_replaying_is_false_in_the_first_episode():
    orch, seen = record(lambda ctx: ctx.is_replaying)
    replay_history(orch, HistoryBuilder().events)
    assert seen == [False]


def expected_uuid(instance_id: str, moment, counter: int) -> str:
    namespace = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
    name = f"{instance_id}_{moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}_{counter}"
    return str(uuid.uuid5(namespace, name))


def test_new_uuid_is_a_v5_uuid_of_instance_time_and_counter():
    def orch(ctx):
        return [ctx.new_uuid(), ctx.new_uuid()]

    output = replay_history(orch, HistoryBuilder().events, instance_id="abc").output
    assert output == [expected_uuid("abc", BASE_TIME, 0), expected_uuid("abc", BASE_TIME, 1)]


def test_new_guid_uses_the_url_namespace_and_shares_the_counter():
    def orch(ctx):
        ctx.new_uuid()
        return str(ctx.new_guid())

    output = replay_history(orch, HistoryBuilder().events, instance_id="abc").output
    assert output == str(uuid.uuid5(uuid.NAMESPACE_URL, f"abc_{BASE_TIME}_1"))


def test_new_uuid_repeats_on_replay():
    def orch(ctx):
        first = ctx.new_uuid()
        yield ctx.call_activity("a")
        return first

    first_run = []

    def capture(ctx):
        first_run.append(ctx.new_uuid())
        yield ctx.call_activity("a")

    replay_history(capture, HistoryBuilder().events)
    history = HistoryBuilder().schedule_activity(0, "a").new_episode().complete_activity(0)
    assert replay_history(orch, history.events).output == first_run[0]
