"""An orchestration session gives, at every episode, exactly what a full replay gives.

Random programs (programs.py) on random host schedules (simulator.py): at each episode the
full replay gets the whole payload, the session only the events history gained since the
last episode. Their OrchestratorState text, error and failure format must be identical.
"""

from __future__ import annotations

import json
import random
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import DIFFERENTIAL
from .harness import orchestrator_handler
from .programs import (
    Activity,
    AllOf,
    Await,
    Observe,
    Program,
    SetStatus,
    Timer,
    WaitEvent,
    programs,
)
from .simulator import PROFILES, HostProfile, HostSimulator, Outcome, invoke


def _session_outcome(result: Any) -> Outcome:
    """Classify a session's ReplayResult as ``invoke`` classifies a handler's answer."""
    try:
        return Outcome("state", result.host_response())
    except Exception as exc:  # the handler's failure, in the same shape invoke() reads
        return invoke(_raiser(exc), "")


def _raiser(exc: BaseException) -> Any:
    def handler(_payload: str) -> str:
        raise exc

    return handler


def run_both(
    ours: ModuleType, program: Program, profile: HostProfile, seed: int, form: str = "generator"
) -> int:
    """Play the program; at each episode compare session and full replay. Returns episodes."""
    handler = orchestrator_handler(ours, program, form)
    sim = HostSimulator(
        orchestrator_name="program", input=program.input, profile=profile, rng=random.Random(seed)
    )
    payload: str | None = sim.start()
    session: Any = None
    episodes = 0
    while payload is not None:
        full = invoke(handler, payload)
        body = json.loads(payload)
        if session is None or not session.alive:
            session = handler.open_session(body)
            result = session.result
        else:
            history = body["history"]
            assert len(history) > session.history_length
            result = session.advance(history[session.history_length :])
        mine = _session_outcome(result)
        assert (mine.kind, mine.state, mine.message) == (full.kind, full.state, full.message), (
            f"episode {episodes}: session {mine} != full replay {full}"
        )
        if full.kind == "state":  # what the engine reads from a session: no JSON text
            assert session.state_dict() == json.loads(full.state), episodes
        episodes += 1
        sim.apply(full)
        if sim.continued_as_new:
            session = None
            payload = sim.restart()
        else:
            payload = sim.next_payload()
    return episodes


def _no_replay_observation(program: Program) -> bool:
    """``is_replaying`` is for logging: a program that records it in its output or status
    reads True in a full replay of a past step but False in the session, which ran that
    step live (as in the extension's extended sessions). Every other value must match."""
    return not any(isinstance(step, Observe) and step.what == "replaying" for step in program.steps)


@DIFFERENTIAL
@given(
    program=programs().filter(_no_replay_observation),
    profile=st.sampled_from(PROFILES),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_session_episode_equals_a_full_replay(
    ours: ModuleType, program: Program, profile: HostProfile, seed: int
) -> None:
    run_both(ours, program, profile, seed)


def test_a_long_chain_runs_every_episode_in_one_session(ours: ModuleType) -> None:
    steps = tuple(Await(Activity(f"a{i}", i)) for i in range(60))
    program = Program(steps=(SetStatus("go"), *steps, Await(AllOf((Timer(5), WaitEvent("e"))))))
    episodes = run_both(ours, program, PROFILES[0], seed=7)
    assert episodes > 30


def test_a_session_ends_with_its_orchestration(ours: ModuleType) -> None:
    program = Program(steps=(Await(Activity("a", 1)),))
    handler = orchestrator_handler(ours, program)
    sim = HostSimulator(
        orchestrator_name="program", input=None, profile=PROFILES[0], rng=random.Random(1)
    )
    session = handler.open_session(json.loads(sim.start()))
    assert session.alive
    sim.apply(_session_outcome(session.result))
    payload = sim.next_payload()
    assert payload is not None
    history = json.loads(payload)["history"]
    result = session.advance(history[session.history_length :])
    assert result.is_done and not session.alive
    with pytest.raises(RuntimeError, match="session has ended"):
        session.advance([])
