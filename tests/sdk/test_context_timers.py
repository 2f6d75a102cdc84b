"""Timer deadlines: naive values are UTC, aware values are converted to UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from factories import BASE_TIME, HistoryBuilder, actions_of, replay_history


def timer_at(fire_at):
    def orch(ctx):
        yield ctx.create_timer(fire_at)

    return orch


def test_naive_fire_at_is_taken_as_utc_when_the_backend_limits_timers():
    naive = (BASE_TIME + timedelta(minutes=1)).replace(tzinfo=None)
    result = replay_history(timer_at(naive), HistoryBuilder().events, long_timers=True)
    assert result.exception is None
    assert actions_of(result)[0]["fireAt"] == "2024-05-01T10:01:00.123456Z"


def test_naive_long_fire_at_is_split_like_an_aware_one():
    naive = (BASE_TIME + timedelta(days=7)).replace(tzinfo=None)
    result = replay_history(timer_at(naive), HistoryBuilder().events, long_timers=True)
    assert actions_of(result)[0]["actionType"] == 12


def test_aware_fire_at_in_another_zone_is_written_in_utc():
    tokyo = timezone(timedelta(hours=9))
    fire_at = datetime(2024, 5, 1, 19, 1, tzinfo=tokyo)
    result = replay_history(timer_at(fire_at), HistoryBuilder().events)
    assert actions_of(result)[0]["fireAt"] == "2024-05-01T10:01:00.000000Z"


@pytest.mark.parametrize("long_timers", [False, True], ids=["no-limit", "limited"])
def test_fire_at_that_is_not_a_datetime_is_a_value_error(long_timers):
    result = replay_history(timer_at("tomorrow"), HistoryBuilder().events, long_timers=long_timers)
    assert isinstance(result.exception, ValueError)
    assert "expected a datetime" in str(result.exception)
