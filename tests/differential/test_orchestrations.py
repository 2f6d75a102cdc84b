"""Our replay returns what the reference returns, episode by episode, for random programs.

Each example is a random orchestrator program (programs.py) and a random host schedule
(simulator.py: completion order, failures, retries, timers, entity responses). At every episode
both SDKs get the same payload text; their OrchestratorState must be equal as JSON and as text.
"""

from __future__ import annotations

import json
import random
import warnings
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import DIFFERENTIAL
from .harness import orchestrator_handler, play
from .programs import (
    Activity,
    AllOf,
    AnyOf,
    Await,
    CallEntity,
    Observe,
    Program,
    RetryActivity,
    SetStatus,
    Signal,
    Timer,
    WaitEvent,
    programs,
)
from .simulator import PROFILES, HostProfile, HostSimulator, Outcome, invoke

pytestmark = [
    pytest.mark.reference,
    # The reference (through azure.functions) warns once per df_loads call without a type.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

AZURE_STORAGE, NO_TIMER_LIMIT, OLDER_HOST = PROFILES


def assert_same(episode: int, payload: str, expected: Outcome, actual: Outcome | None) -> None:
    assert actual is not None
    context = f"episode {episode}, payload {payload}"
    assert actual.kind == expected.kind, context
    assert actual.message == expected.message, context
    assert actual.parsed == expected.parsed, context
    # Same bytes too: the host parses the JSON, but a replacement SDK should not surprise a log
    # diff or a recorded-history test either.
    assert actual.state == expected.state, context


@DIFFERENTIAL
@given(program=programs(), profile=st.sampled_from(PROFILES), seed=st.integers(0, 2**32 - 1))
def test_every_episode_returns_the_reference_state(
    reference: ModuleType, ours: ModuleType, program: Program, profile: HostProfile, seed: int
) -> None:
    """Random programs, random schedules: the same OrchestratorState at every episode."""
    for episode in play(
        program,
        profile,
        seed,
        orchestrator_handler(reference, program),
        orchestrator_handler(ours, program),
    ):
        assert_same(episode.number, episode.payload, episode.reference, episode.ours)


# A few fixed shapes that matter on every host: they run on each profile and several schedules,
# whatever hypothesis happens to draw.
FIXED = {
    "activity-chain": Program(
        steps=(
            Await(Activity("a", 1)),
            Observe("clock"),
            Await(Activity("b", {"x": [1, 2]})),
            Observe("replaying"),
        )
    ),
    "fan-out-fan-in": Program(steps=(Await(AllOf(tuple(Activity("f", i) for i in range(5)))),)),
    "retries": Program(
        steps=(
            Await(RetryActivity("flaky", "x", 1000, 3)),
            Await(AllOf((RetryActivity("flaky", 1, 5, 2), Activity("plain", 2)))),
        )
    ),
    "timeout-race": Program(
        steps=(
            Await(
                AnyOf(
                    (WaitEvent("approval"), Timer(3600)),
                    cancel_pending_timers=True,
                    await_all_afterwards=False,
                )
            ),
            Observe("uuid"),
            Observe("guid"),
        )
    ),
    "long-timer": Program(steps=(Await(Timer(13 * 24 * 3600)), Observe("clock"))),
    "entities": Program(
        steps=(
            Signal("Counter", "k", "add", 1),
            Await(CallEntity("Counter", "k", "get", None)),
            SetStatus({"stage": "entities"}),
        )
    ),
    "continue-as-new": Program(steps=(Await(Activity("step", None)),), generations=2),
}


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
@pytest.mark.parametrize("name", FIXED)
@pytest.mark.parametrize("seed", range(4))
def test_fixed_programs_return_the_reference_state(
    reference: ModuleType, ours: ModuleType, name: str, profile: HostProfile, seed: int
) -> None:
    program = FIXED[name]
    for episode in play(
        program,
        profile,
        seed,
        orchestrator_handler(reference, program),
        orchestrator_handler(ours, program),
    ):
        assert_same(episode.number, episode.payload, episode.reference, episode.ours)


# ---- the simulator itself --------------------------------------------------------------------


@DIFFERENTIAL
@given(program=programs(), profile=st.sampled_from(PROFILES), seed=st.integers(0, 2**32 - 1))
def test_simulated_histories_complete_every_task_the_reference_scheduled(
    reference: ModuleType, program: Program, profile: HostProfile, seed: int
) -> None:
    """The simulator's sequence ids match the SDK's: no completion is ever left unmatched.

    An id the SDK did not assign shows up as the reference's "Potential duplicate Task
    completion" warning (protocol §5.3), which is an error here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Potential duplicate Task completion")
        last = None
        for episode in play(program, profile, seed, orchestrator_handler(reference, program)):
            last = episode
    assert last is not None
    assert "Potential duplicate" not in (last.reference.message or "")


class AlwaysFail(random.Random):
    """A schedule in which every task fails: drives retries to their last attempt."""

    def random(self) -> float:
        return 0.0


def test_simulator_writes_the_documented_retry_history(reference: ModuleType) -> None:
    """Two failing attempts give protocol §5.10's example history, ids and all."""
    program = Program(steps=(Await(RetryActivity("flaky", None, 1000, 2)),))
    sim = HostSimulator("program", {}, AZURE_STORAGE, AlwaysFail(0))
    handler = orchestrator_handler(reference, program)
    payload: str | None = sim.start()
    while payload is not None:
        sim.apply(invoke(handler, payload))
        payload = sim.next_payload()
    shape = [_key(e) for e in sim.history if e["EventType"] in (4, 5, 6, 10, 11)]
    assert shape == [(4, 0), (6, 0), (10, 1), (11, 1), (4, 2), (6, 2), (10, 3), (11, 3)]


def _key(event: dict[str, object]) -> tuple[object, object]:
    """(event type, the sequence id it schedules or completes)."""
    if event["EventType"] in (4, 10):
        return event["EventType"], event["EventId"]
    return event["EventType"], event.get("TaskScheduledId", event.get("TimerId"))


def test_simulator_sends_the_payload_fields_of_the_profile() -> None:
    sim = HostSimulator("program", {"city": "Tokyo"}, AZURE_STORAGE, random.Random(1))
    payload = json.loads(sim.start())
    assert payload["input"] == '{"city": "Tokyo"}'
    assert payload["history"][1]["Input"] == '"{\\"city\\": \\"Tokyo\\"}"'
    assert (payload["upperSchemaVersion"], payload["upperSchemaVersionNew"]) == (1, 2)
    assert payload["maximumShortTimerDuration"] == "6.00:00:00"
