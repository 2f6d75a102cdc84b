"""Sessions in the test harness and the session cache's bounds and settings.

The harness runs the real driver over ``MemoryBackend``: these tests check that long
orchestrations run in sessions, that a session is dropped whenever it no longer matches the
stored instance, that the cache keeps to its bounds, and that ``host.json`` turns them off.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import durable_functions as df
from durable_functions.errors import HostError
from durable_functions.host.clock import VirtualClock
from durable_functions.host.sessions import SessionCache, SessionSettings
from durable_functions.host.settings import load_settings
from durable_functions.testing import OrchestrationTestEnv

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    total = 0
    for i in range(context.get_input()):
        total += yield context.call_activity("step", i)
    return total


@app.orchestration_trigger(context_name="context")
def wait_twice(context: df.DurableOrchestrationContext):
    first = yield context.wait_for_external_event("go")
    second = yield context.wait_for_external_event("go")
    return [first, second]


@app.activity_trigger(input_name="value")
def step(value: int) -> int:
    return value


def test_every_episode_of_a_long_chain_after_the_first_runs_in_the_session() -> None:
    env = OrchestrationTestEnv(app)
    result = env.run("chain", 300)
    assert result.output == sum(range(300))
    assert env.sessions.hits == 300  # 301 episodes: the first replays, every other continues


def test_without_sessions_every_episode_replays_with_the_same_result() -> None:
    env = OrchestrationTestEnv(app, sessions=False)
    assert env.run("chain", 50).output == sum(range(50))
    assert env.sessions.hits == 0 and len(env.sessions) == 0


def test_a_session_dropped_between_episodes_falls_back_to_a_full_replay() -> None:
    env = OrchestrationTestEnv(app)
    instance_id = env.start("wait_twice", run=True)
    assert len(env.sessions) == 1
    env.sessions.clear()  # as after a restart of the host: sessions are memory only
    env.raise_event(instance_id, "go", 1)
    env.run_until_idle()
    assert env.sessions.hits == 0  # replayed the whole history ...
    env.raise_event(instance_id, "go", 2)
    env.run_until_idle()
    assert env.sessions.hits == 1  # ... and then went on in the new session
    assert env.result(instance_id).output == [1, 2]


def test_a_suspended_and_resumed_instance_goes_on_in_its_session() -> None:
    env = OrchestrationTestEnv(app)
    instance_id = env.start("wait_twice", run=True)
    env.suspend(instance_id)
    env.raise_event(instance_id, "go", "a")
    env.run_until_idle()
    env.resume(instance_id)
    env.raise_event(instance_id, "go", "b")
    env.run_until_idle()
    assert env.result(instance_id).output == ["a", "b"]


def _fill(cache_settings: SessionSettings, instances: int) -> OrchestrationTestEnv:
    env = OrchestrationTestEnv(app)
    env.sessions = SessionCache(env.clock, cache_settings)
    for index in range(instances):
        env.start("wait_twice", instance_id=f"i{index}")
    env.run_until_idle()
    return env


def test_the_cache_keeps_the_most_recently_used_sessions_up_to_its_count() -> None:
    env = _fill(SessionSettings(max_sessions=3, idle_timeout=None), instances=5)
    assert len(env.sessions) == 3
    for index in (2, 3, 4):  # the three most recent are kept ...
        env.raise_event(f"i{index}", "go", index)
        env.run_until_idle()
    assert env.sessions.hits == 3
    env.raise_event("i0", "go", 0)  # ... the oldest was evicted: it replays its history
    env.run_until_idle()
    assert env.sessions.hits == 3
    assert [env.result(f"i{i}").runtime_status.value for i in range(5)] == ["Running"] * 5


def test_the_cache_keeps_to_its_bound_on_history_events() -> None:
    env = _fill(SessionSettings(max_events=10, idle_timeout=None), instances=4)
    held = len(env.sessions)
    assert 0 < held < 4


def test_an_idle_session_is_dropped_after_the_timeout() -> None:
    clock = VirtualClock()
    env = OrchestrationTestEnv(app, start=clock.now())
    env.sessions = SessionCache(env.clock, SessionSettings(idle_timeout=timedelta(seconds=30)))
    env.start("wait_twice", instance_id="old")
    env.run_until_idle()
    env.advance(timedelta(minutes=5))
    env.start("wait_twice", instance_id="new")
    env.run_until_idle()  # keeping the new session forgets the idle one
    assert len(env.sessions) == 1


def _app_dir(tmp_path: Path, durable: dict[str, object]) -> Path:
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": durable}})
    )
    return tmp_path


def test_host_json_turns_sessions_off_and_sets_the_idle_timeout(tmp_path: Path) -> None:
    settings = load_settings(
        _app_dir(
            tmp_path,
            {"extendedSessionsEnabled": False, "extendedSessionIdleTimeoutInSeconds": 90},
        ),
        environ={},
    )
    assert settings.sessions.enabled is False
    assert settings.sessions.idle_timeout == timedelta(seconds=90)
    assert load_settings(_app_dir(tmp_path, {}), environ={}).sessions.enabled is True


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("extendedSessionsEnabled", "yes"),
        ("extendedSessionIdleTimeoutInSeconds", 0),
        ("extendedSessionIdleTimeoutInSeconds", "30"),
    ],
)
def test_a_bad_session_setting_is_a_clear_error(tmp_path: Path, key: str, value: object) -> None:
    with pytest.raises(HostError, match=key):
        load_settings(_app_dir(tmp_path, {key: value}), environ={})
