"""Runs one program through the host simulator on one or two SDKs, episode by episode."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .programs import Program, build_orchestrator
from .simulator import OUT_OF_PROC_LABEL, HostProfile, HostSimulator, Outcome, invoke

Handler = Callable[[Any], str]


@dataclass(frozen=True)
class Episode:
    number: int
    payload: str
    reference: Outcome
    ours: Outcome | None


def orchestrator_handler(sdk: Any, program: Program, form: str = "generator") -> Handler:
    """`Orchestrator.create` of `sdk` over the program as a generator or async function."""
    handler: Handler = sdk.Orchestrator.create(build_orchestrator(program, sdk, form))
    return handler


def play(
    program: Program,
    profile: HostProfile,
    seed: int,
    reference: Handler,
    ours: Handler | None = None,
) -> Iterator[Episode]:
    """Yield every episode; the simulator follows the reference's answers.

    Both SDKs always get the very same payload text. The caller compares the outcomes; if they
    differ the caller stops, so following the reference alone is enough.
    """
    sim = HostSimulator(
        orchestrator_name="program",
        input=program.input,
        profile=profile,
        rng=random.Random(seed),
    )
    payload: str | None = sim.start()
    number = 0
    while payload is not None:
        expected = invoke(reference, payload)
        actual = invoke(ours, payload) if ours is not None else None
        yield Episode(number, payload, expected, actual)
        number += 1
        sim.apply(expected)
        payload = sim.restart() if sim.continued_as_new else sim.next_payload()


# ---- the same, with our engine writing the histories ------------------------------------------


@dataclass
class _World:
    """Work the engine handed out and that this test completes, in an order it picks."""

    activities: list[Any]
    timers: list[Any]
    children: list[Any]
    calls: list[Any]
    events: list[str]

    def items(self) -> list[tuple[str, Any]]:
        return (
            [("activity", w) for w in self.activities]
            + [("timer", t) for t in self.timers]
            + [("child", c) for c in self.children]
            + [("call", m) for m in self.calls]
            + [("event", name) for name in self.events]
        )


def play_engine(
    program: Program,
    profile: HostProfile,
    seed: int,
    reference: Handler,
    ours: Handler | None = None,
    max_episodes: int = 60,
    strict: bool = False,
) -> Iterator[Episode]:
    """Like `play`, but `durable_functions.host.engine` writes every history and payload.

    The engine is pure: this loop is the backend. It keeps the history and the inbox, and plays
    the rest of the world (activity results and failures, timers coming due, child
    orchestrations finishing, entity responses, external events for pending waits) in an order
    drawn from `seed`. The engine gets the reference's answer, as the host would.

    `strict`: fail if the engine fails an instance the SDK did not fail, i.e. if the engine and
    the SDK disagree about the history (sequence ids, non-determinism).
    """
    import datetime as dt

    from durable_functions.host import engine

    rng = random.Random(seed)
    ids = iter(range(1_000_000))

    def new_id() -> str:
        return f"{next(ids):016x}"

    config = engine.EngineConfig(
        long_running_timer_interval=profile.long_interval or "00:00:00",
        maximum_short_timer_duration=profile.max_short or "00:00:00",
        upper_schema_version=profile.upper_schema,
        upper_schema_version_new=profile.upper_schema_new or profile.upper_schema,
    )
    now = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone.utc)
    started = engine.new_instance(
        "program", "inst-1", json.dumps(json.dumps(program.input)), now=now, execution_id=new_id()
    )
    instance = started.instance
    history: tuple[dict[str, Any], ...] = ()
    inbox = [started.message]
    world = _World([], [], [], [], [])
    waits_seen = 0
    for number in range(max_episodes):
        item = engine.OrchestrationWorkItem(
            instance=instance, history=history, messages=tuple(inbox)
        )
        inbox = []
        episode = engine.prepare_episode(item, now=now, config=config)
        assert episode.payload is not None
        payload = json.dumps(episode.payload)
        expected = invoke(reference, payload)
        actual = invoke(ours, payload) if ours is not None else None
        yield Episode(number, payload, expected, actual)
        if expected.kind == "state":
            result: Any = expected.state
        else:
            label = "" if expected.kind == "crashed" else OUT_OF_PROC_LABEL + str(expected.state)
            result = engine.InvocationError(message=f"{expected.message}{label}")
        outcome = engine.complete_episode(episode, result, now=now, new_id=new_id)
        if outcome.finished:
            failed = outcome.instance.runtime_status is engine.RuntimeStatus.Failed
            assert not (strict and failed and expected.kind == "state"), outcome.instance.output
            return
        instance = outcome.instance
        inbox.extend(m for m in outcome.messages if m.instance_id == instance.instance_id)
        if outcome.new_execution:
            # Work the old execution started answers to an execution that no longer exists.
            history = ()
            world = _World([], [], [], [], [])
            waits_seen = 0
            continue
        history = history + outcome.history_added
        world.activities.extend(outcome.activities)
        world.timers.extend(outcome.timers)
        world.children.extend(outcome.new_instances)
        world.calls.extend(m for m in outcome.entity_messages if not m.request.get("signal"))
        cancelled = set(outcome.cancel_timers)
        world.timers = [t for t in world.timers if t.message.event["TimerId"] not in cancelled]
        if outcome.state is not None:
            # Waits take no sequence id, so the engine hands out no work for them: raise one
            # event per new WaitForExternalEvent action (never before its wait, see programs.py).
            waits = [a for a in _flatten_actions(outcome.state["actions"]) if a["actionType"] == 6]
            world.events.extend(a["externalEventName"] for a in waits[waits_seen:])
            waits_seen = len(waits)
        pending = world.items()
        if not pending:
            return
        now += dt.timedelta(seconds=rng.choice([1, 17, 3600]))
        for kind, work in rng.sample(pending, rng.randint(1, min(3, len(pending)))):
            message, now = _finish(kind, work, world, rng, now, instance, engine)
            inbox.append(message)


def _flatten_actions(actions: list[Any]) -> Iterator[dict[str, Any]]:
    for item in actions:
        if isinstance(item, list):
            yield from _flatten_actions(item)
        elif item["actionType"] in (11, 12):
            yield from _flatten_actions(item["compoundActions"])
        else:
            yield item


_VALUES: list[Any] = [None, 0, -7, 2**53 + 1, 1.5, "", "ok", "snow ☃", [1, "a"], {"k": [True]}]


def _finish(
    kind: str, work: Any, world: _World, rng: random.Random, now: Any, instance: Any, engine: Any
) -> tuple[Any, Any]:
    """Complete one piece of work: the message it sends back, and the clock after it."""
    value = json.dumps(rng.choice(_VALUES), separators=(",", ":"))
    fails = rng.random() < 0.35
    if kind == "timer":
        world.timers.remove(work)
        return work.message, max(now, work.fire_at)
    target = {"instance_id": instance.instance_id, "execution_id": instance.execution_id}
    if kind == "activity":
        world.activities.remove(work)
        if fails:
            event = engine.task_failed_event(
                work.task_id,
                reason=f"Activity function '{work.name}' failed: ValueError: boom",
                details="Traceback (most recent call last): ...",
                failure=engine.failure_details("ValueError", "boom", None),
                timestamp=now,
            )
        else:
            event = engine.task_completed_event(work.task_id, value, timestamp=now)
        return engine.OrchestrationMessage(event=event, **target), now
    if kind == "child":
        world.children.remove(work)
        task_id = work.instance.parent.task_schedule_id
        if fails:
            event = engine.history_event(
                engine.EventType.SubOrchestrationInstanceFailed,
                timestamp=now,
                TaskScheduledId=task_id,
                Reason=f"Orchestrator function '{work.instance.name}' failed: nope",
                Details=None,
                FailureDetails=engine.failure_details("Exception", "nope", None),
            )
        else:
            event = engine.history_event(
                engine.EventType.SubOrchestrationInstanceCompleted,
                timestamp=now,
                TaskScheduledId=task_id,
                Result=value,
            )
        return engine.OrchestrationMessage(event=event, **target), now
    if kind == "call":
        world.calls.remove(work)
        response: dict[str, Any] = {"result": value}
        if fails:
            response = {"result": json.dumps("no such op"), "exceptionType": "Exception"}
        event = engine.event_raised_event(work.request["id"], json.dumps(response), timestamp=now)
        return engine.OrchestrationMessage(event=event, **target), now
    world.events.remove(work)
    return engine.raise_event_message(instance.instance_id, work, value, now=now), now
