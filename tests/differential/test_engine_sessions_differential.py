"""Engine sessions on random programs: every episode checked from the previous episode's
session gives the outcome of a full check (same history, work, status, failures).

The programs (programs.py) run on our SDK; the engine writes every history; this loop is
the backend, completing work in an order drawn from the seed (harness.py's world), and
delivering some completions twice, as at-least-once delivery after a crash does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_functions.host import engine

from .conftest import DIFFERENTIAL
from .harness import _finish, _flatten_actions, _World, orchestrator_handler
from .programs import (
    Activity,
    AnyOf,
    Await,
    CallEntity,
    Program,
    RetryActivity,
    RetrySubOrchestration,
    Signal,
    SubOrchestration,
    TaskExpr,
    Timer,
    WaitEvent,
    programs,
)
from .simulator import OUT_OF_PROC_LABEL, PROFILES, HostProfile, invoke

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclasses.dataclass
class Tally:
    episodes: int = 0
    with_session: int = 0
    non_determinism: int = 0
    continued: int = 0


def _same(with_session: engine.EpisodeOutcome, full: engine.EpisodeOutcome, number: int) -> None:
    for field in dataclasses.fields(engine.EpisodeOutcome):
        if field.name != "session":
            ours, theirs = getattr(with_session, field.name), getattr(full, field.name)
            assert ours == theirs, f"episode {number}, {field.name}: {ours!r} != {theirs!r}"


def _recording(given: list[str], new_id: Callable[[], str]) -> Callable[[], str]:
    def recording() -> str:
        given.append(new_id())
        return given[-1]

    return recording


def _again(given: list[str], new_id: Callable[[], str]) -> Callable[[], str]:
    """The ids the session's run got, again: a full check asks for the same ones."""
    replayed: Iterator[str] = iter(given)
    return lambda: next(replayed, None) or new_id()


def drive(
    handlers: Callable[[int], Any],
    program: Program,
    profile: HostProfile,
    seed: int,
    tally: Tally,
    max_episodes: int = 60,
) -> None:
    """Run ``program`` with the engine; ``handlers(n)`` is the orchestrator of episode n."""
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
    delivered: list[engine.OrchestrationMessage] = []
    world = _World([], [], [], [], [])
    waits_seen = 0
    session: engine.EngineSession | None = None
    for number in range(max_episodes):
        item = engine.OrchestrationWorkItem(
            instance=instance, history=history, messages=tuple(inbox)
        )
        inbox = []
        tally.episodes += 1
        if session is not None:
            assert session.matches(item)
            tally.with_session += 1
        episode = engine.prepare_episode(item, now=now, config=config, session=session)
        full_episode = engine.prepare_episode(item, now=now, config=config)
        assert episode == full_episode, f"episode {number}: prepare_episode differs"
        if episode.payload is None:
            return
        answer = invoke(handlers(number), json.dumps(episode.payload))
        if answer.kind == "state":
            result: Any = answer.state
        else:
            label = "" if answer.kind == "crashed" else OUT_OF_PROC_LABEL + str(answer.state)
            result = engine.InvocationError(message=f"{answer.message}{label}")
        given_ids: list[str] = []
        outcome = engine.complete_episode(
            episode, result, now=now, new_id=_recording(given_ids, new_id), session=session
        )
        full = engine.complete_episode(
            full_episode, result, now=now, new_id=_again(given_ids, new_id)
        )
        _same(outcome, full, number)
        failure = outcome.instance.failure or {}
        if "Non-deterministic" in str(failure.get("ErrorMessage")):
            tally.non_determinism += 1
        session = outcome.session
        if outcome.finished:
            assert session is None
            return
        instance = outcome.instance
        inbox.extend(m for m in outcome.messages if m.instance_id == instance.instance_id)
        if outcome.new_execution:
            assert session is None
            tally.continued += 1
            history = ()
            world = _World([], [], [], [], [])
            waits_seen = 0
            delivered = []
            continue
        history = history + outcome.history_added
        world.activities.extend(outcome.activities)
        world.timers.extend(outcome.timers)
        world.children.extend(outcome.new_instances)
        world.calls.extend(m for m in outcome.entity_messages if not m.request.get("signal"))
        cancelled = set(outcome.cancel_timers)
        world.timers = [t for t in world.timers if t.message.event["TimerId"] not in cancelled]
        if outcome.state is not None:
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
            delivered.append(message)
        if delivered and rng.random() < 0.25:
            inbox.append(rng.choice(delivered))  # at-least-once: the same completion again


TOTAL = Tally()
CHANGED = Tally()
"""Summed over the property tests' examples, to see what they exercised."""


@DIFFERENTIAL
@given(
    program=programs(shim_safe=True) | programs(),
    profile=st.sampled_from(PROFILES),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_episode_with_a_session_is_the_full_check(
    ours: ModuleType, program: Program, profile: HostProfile, seed: int
) -> None:
    handler = orchestrator_handler(ours, program)
    drive(lambda _: handler, program, profile, seed, TOTAL)


# ---- a code change in the middle of an execution


def _renamed(expr: TaskExpr) -> TaskExpr:
    """The same task with other names: what a changed deployment would schedule."""
    if isinstance(expr, (Activity, RetryActivity, SubOrchestration, RetrySubOrchestration)):
        return dataclasses.replace(expr, name=expr.name + "-v2")
    if isinstance(expr, CallEntity):
        return dataclasses.replace(expr, operation=expr.operation + "-v2")
    if isinstance(expr, (Timer, WaitEvent)):
        return expr
    if isinstance(expr, AnyOf):
        return dataclasses.replace(expr, children=tuple(_renamed(c) for c in expr.children))
    return dataclasses.replace(expr, children=tuple(_renamed(c) for c in expr.children))


def changed(program: Program) -> Program:
    steps = []
    for step in program.steps:
        if isinstance(step, Await):
            steps.append(Await(_renamed(step.expr)))
        elif isinstance(step, Signal):
            steps.append(dataclasses.replace(step, operation=step.operation + "-v2"))
        else:
            steps.append(step)
    return dataclasses.replace(program, steps=tuple(steps))


def renaming(handler: Callable[[str], str]) -> Callable[[str], str]:
    """The handler's answers with every task renamed: a changed deployment whose SDK does
    not check determinism itself, so only the engine's check can find the change."""

    def rename(actions: Any) -> None:
        for action in actions:
            if isinstance(action, list):
                rename(action)
            elif isinstance(action, dict):
                for key in ("functionName", "operation"):
                    if isinstance(action.get(key), str):
                        action[key] += "-v2"
                rename(action.get("compoundActions") or [])

    def run(payload: str) -> str:
        state = json.loads(handler(payload))
        rename(state.get("actions") or [])
        return json.dumps(state)

    return run


@DIFFERENTIAL
@given(
    program=programs(shim_safe=True),
    profile=st.sampled_from(PROFILES),
    seed=st.integers(0, 2**32 - 1),
    switch=st.integers(1, 6),
    sdk_checks=st.booleans(),
)
def test_a_code_change_mid_execution_is_found_with_a_session(
    ours: ModuleType,
    program: Program,
    profile: HostProfile,
    seed: int,
    switch: int,
    sdk_checks: bool,
) -> None:
    """From episode ``switch`` on the orchestrator is a changed program (other names)."""
    before = orchestrator_handler(ours, program)
    if sdk_checks:
        after = orchestrator_handler(ours, changed(program))
    else:
        after = renaming(before)
    drive(lambda n: before if n < switch else after, program, profile, seed, CHANGED)


# ---- fixed shapes, with counts that show the sessions were used


FIXED = {
    "chain": Program(steps=tuple(Await(Activity("a", i)) for i in range(12))),
    "retries": Program(
        steps=(
            Await(RetryActivity("flaky", "x", 1000, 3)),
            Await(RetrySubOrchestration("child", 1, None, 5, 2)),
            Await(RetryActivity("flaky", "y", 1, 3)),
        )
    ),
    "timeouts": Program(
        steps=tuple(
            Await(
                AnyOf(
                    (WaitEvent(f"ev{i}"), Timer(3600)),
                    cancel_pending_timers=True,
                    await_all_afterwards=False,
                )
            )
            for i in range(6)
        )
    ),
    "entities": Program(
        steps=(
            Signal("Counter", "k1", "add", 1),
            Await(CallEntity("Counter", "k1", "get", None)),
            Signal("cart", "k2", "reset", None),
            Await(CallEntity("cart", "k2", "add", [1])),
        )
    ),
    "generations": Program(steps=(Await(Activity("a", 1)), Await(Timer(1))), generations=2),
}


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
@pytest.mark.parametrize("name", FIXED)
@pytest.mark.parametrize("seed", range(4))
def test_fixed_programs_use_their_sessions(
    ours: ModuleType, name: str, profile: HostProfile, seed: int
) -> None:
    program = FIXED[name]
    handler = orchestrator_handler(ours, program)
    tally = Tally()
    drive(lambda _: handler, program, profile, seed, tally)
    # Every episode but the first of each execution ran from a session.
    assert tally.with_session == tally.episodes - 1 - tally.continued
    assert tally.continued == program.generations


@pytest.mark.parametrize("sdk_checks", [True, False], ids=["sdk-checks", "engine-checks"])
@pytest.mark.parametrize("seed", range(4))
def test_a_renamed_activity_is_non_determinism_with_a_session(
    ours: ModuleType, seed: int, sdk_checks: bool
) -> None:
    program = FIXED["chain"]
    before = orchestrator_handler(ours, program)
    after = orchestrator_handler(ours, changed(program)) if sdk_checks else renaming(before)
    tally = Tally()
    drive(lambda n: before if n < 4 else after, program, NO_LIMIT, seed, tally)
    assert tally.with_session >= 4
    assert tally.non_determinism == 1


NO_LIMIT = PROFILES[1]
