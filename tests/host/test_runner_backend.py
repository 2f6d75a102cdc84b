"""The runner's clocks, hooks and long timers, and MemoryBackend's queries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_functions.errors import HostError
from durable_functions.host import engine, runner
from durable_functions.host.engine import EngineConfig, RuntimeStatus
from durable_functions.host.memory import MemoryBackend

Harness = Any  # the ``harness`` fixture of conftest.py
START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def test_long_timers_split_by_the_sdk_still_fire_at_their_due_time(harness: Harness) -> None:
    @harness.app.orchestrator("long_sleep")
    def long_sleep(ctx: Any) -> Any:
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(days=3))
        return ctx.current_utc_datetime.isoformat()

    config = EngineConfig(
        long_running_timer_interval="12:00:00", maximum_short_timer_duration="1.00:00:00"
    )
    instance_id = harness.start("long_sleep")
    harness.run(config=config)

    assert harness.output(instance_id).startswith("2024-05-04T10:00:00")
    timers = [e for e in harness.backend.get_history(instance_id) if e["EventType"] == 10]
    assert len(timers) > 1


def test_a_sub_orchestration_with_retry_is_started_again_after_a_failure(
    harness: Harness,
) -> None:
    app = harness.app
    sdk = app.sdk
    runs: list[int] = []

    @app.orchestrator("child")
    def child(ctx: Any) -> Any:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first run fails")
        return "ok"
        yield  # pragma: no cover

    @app.orchestrator("parent")
    def parent(ctx: Any) -> Any:
        options = sdk.RetryOptions(
            first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2
        )
        result = yield ctx.call_sub_orchestrator_with_retry("child", options, None)
        return result

    instance_id = harness.start("parent")
    harness.run()

    assert harness.output(instance_id) == "ok"


def test_hooks_see_every_episode_and_activity(harness: Harness) -> None:
    app = harness.app
    episodes: list[str] = []
    activities: list[str] = []

    @app.activity("noop")
    def noop(_: Any) -> None:
        return None

    @app.orchestrator("once")
    def once(ctx: Any) -> Any:
        yield ctx.call_activity("noop", None)
        return "done"

    hooks = runner.Hooks(
        on_episode=lambda item, outcome: episodes.append(outcome.instance.runtime_status.value),
        on_activity=lambda item, message: activities.append(item.name),
    )
    harness.start("once")
    harness.run(hooks=hooks)

    assert episodes == ["Running", "Completed"]
    assert activities == ["noop"]


def test_run_until_idle_stops_an_endless_loop(harness: Harness) -> None:
    @harness.app.orchestrator("forever")
    def forever(ctx: Any) -> Any:
        ctx.continue_as_new(None)
        return None
        yield  # pragma: no cover

    harness.start("forever")

    with pytest.raises(HostError, match="still busy"):
        harness.run(max_steps=50)


def test_the_virtual_clock_refuses_to_go_backwards() -> None:
    clock = runner.VirtualClock(START)

    clock.wait_until(START - timedelta(days=1))

    assert clock.now() == START
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))


def test_the_system_clock_is_aware_utc() -> None:
    now = runner.SystemClock().now()

    assert now.tzinfo is timezone.utc


def _created(backend: MemoryBackend, instance_id: str, at: datetime, name: str = "o") -> None:
    backend.create_instance(
        engine.new_instance(name, instance_id, None, now=at, execution_id=f"x-{instance_id}")
    )


def test_list_instances_pages_in_creation_order() -> None:
    backend = MemoryBackend()
    for n in range(5):
        _created(backend, f"i{n}", START + timedelta(seconds=n))

    first = backend.list_instances(top=2)
    second = backend.list_instances(top=2, continuation=first.continuation)
    last = backend.list_instances(top=2, continuation=second.continuation)

    assert [i.instance_id for i in first.instances] == ["i0", "i1"]
    assert [i.instance_id for i in second.instances] == ["i2", "i3"]
    assert [i.instance_id for i in last.instances] == ["i4"] and last.continuation is None


def test_list_instances_filters_by_time_status_and_prefix() -> None:
    backend = MemoryBackend()
    _created(backend, "order-1", START)
    _created(backend, "order-2", START + timedelta(hours=1))
    _created(backend, "user-1", START + timedelta(hours=1))

    page = backend.list_instances(
        created_from=START + timedelta(minutes=30),
        statuses=[RuntimeStatus.Pending.value],
        prefix="order-",
    )

    assert [i.instance_id for i in page.instances] == ["order-2"]


def test_a_live_instance_id_cannot_be_created_twice() -> None:
    backend = MemoryBackend()
    _created(backend, "same", START)

    again = engine.new_instance("o", "same", None, now=START, execution_id="other")

    assert backend.create_instance(again) is False


def test_list_entities_filters_by_name_and_pages() -> None:
    backend = MemoryBackend()
    clock = runner.VirtualClock(START)
    for key in ("a", "b", "c"):
        backend.send_entity(
            [
                engine.entity_signal_message(
                    f"@counter@{key}", "set", '"1"', now=START, request_id=key
                )
            ]
        )
    backend.send_entity(
        [engine.entity_signal_message("@other@z", "set", '"1"', now=START, request_id="z")]
    )

    class SetState:
        def invoke_entity(self, name: str, batch_payload: str) -> str:
            batch = json.loads(batch_payload)["batch"]
            results = [{"isError": False, "duration": 0, "startTime": 0, "result": "null"}]
            return json.dumps(
                {"entityExists": True, "entityState": "1", "results": results * len(batch)}
            )

        def known_entities(self) -> list[str]:
            return ["counter", "other"]

    while runner.step_entity(backend, SetState(), clock):  # type: ignore[arg-type]
        pass
    first, token = backend.list_entities(name="Counter", top=2)
    rest, end = backend.list_entities(name="Counter", top=2, continuation=token)

    assert [e.entity_id for e in first] == ["@counter@a", "@counter@b"]
    assert [e.entity_id for e in rest] == ["@counter@c"] and end is None


def test_orchestrations_also_run_with_the_v1_replay_schema(harness: Harness) -> None:
    @harness.app.activity("double")
    def double(n: int) -> int:
        return 2 * n

    @harness.app.orchestrator("v1")
    def v1(ctx: Any) -> Any:
        first = yield ctx.call_activity("double", 1)
        rest = yield ctx.task_all([ctx.call_activity("double", n) for n in (2, 3)])
        return [first, *rest]

    config = EngineConfig(upper_schema_version=0, upper_schema_version_new=0)
    instance_id = harness.start("v1")
    harness.run(config=config)

    assert harness.output(instance_id) == [2, 4, 6]


def test_paging_survives_a_purge_of_the_last_instance_seen() -> None:
    backend = MemoryBackend()
    for n in range(4):
        _created(backend, f"i{n}", START + timedelta(seconds=n))
    first = backend.list_instances(top=2)

    backend.purge(["i1"])
    second = backend.list_instances(top=2, continuation=first.continuation)

    assert [i.instance_id for i in second.instances] == ["i2", "i3"]


def test_a_garbled_continuation_token_is_a_clear_error() -> None:
    with pytest.raises(HostError, match="continuation"):
        MemoryBackend().list_instances(continuation="not a token")
