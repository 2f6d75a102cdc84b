"""Each program as a generator and as an ``async def``: the same OrchestratorState, always.

The async twin (programs.py, ``form="async"``) awaits what the generator yields. Both run on
our SDK against the same payload at every episode, on simulated and on engine-written
histories, and in sessions; their answers must be identical as text (the generator form is
held to the reference SDK by test_orchestrations.py).
"""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import DIFFERENTIAL
from .harness import orchestrator_handler, play, play_engine
from .programs import Program, programs
from .simulator import PROFILES, HostProfile, Outcome
from .test_orchestrations import FIXED
from .test_sessions import _no_replay_observation, run_both


def assert_twins(episode: int, payload: str, generator: Outcome, twin: Outcome | None) -> None:
    assert twin is not None
    context = f"episode {episode}: async {twin}, generator {generator}; payload {payload}"
    assert (twin.kind, twin.message, twin.state) == (
        generator.kind,
        generator.message,
        generator.state,
    ), context


def _twins(ours: ModuleType, program: Program) -> tuple[object, object]:
    return orchestrator_handler(ours, program), orchestrator_handler(ours, program, "async")


@DIFFERENTIAL
@given(program=programs(), profile=st.sampled_from(PROFILES), seed=st.integers(0, 2**32 - 1))
def test_every_episode_of_the_async_twin_returns_the_generator_state(
    ours: ModuleType, program: Program, profile: HostProfile, seed: int
) -> None:
    generator, twin = _twins(ours, program)
    for episode in play(program, profile, seed, generator, twin):  # type: ignore[arg-type]
        assert_twins(episode.number, episode.payload, episode.reference, episode.ours)


@DIFFERENTIAL
@given(
    program=programs(shim_safe=True),
    profile=st.sampled_from(PROFILES),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_async_twin_matches_on_engine_written_histories(
    ours: ModuleType, program: Program, profile: HostProfile, seed: int
) -> None:
    generator, twin = _twins(ours, program)
    for episode in play_engine(program, profile, seed, generator, twin):  # type: ignore[arg-type]
        assert_twins(episode.number, episode.payload, episode.reference, episode.ours)


@DIFFERENTIAL
@given(
    program=programs().filter(_no_replay_observation),
    profile=st.sampled_from(PROFILES),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_async_session_episode_equals_a_full_replay(
    ours: ModuleType, program: Program, profile: HostProfile, seed: int
) -> None:
    run_both(ours, program, profile, seed, form="async")


@pytest.mark.parametrize("driver", [play, play_engine], ids=["simulator", "engine"])
@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
@pytest.mark.parametrize("name", FIXED)
def test_fixed_programs_have_identical_async_twins(
    ours: ModuleType, name: str, profile: HostProfile, driver: object
) -> None:
    program = FIXED[name]
    generator, twin = _twins(ours, program)
    episodes = 0
    for episode in driver(program, profile, 0, generator, twin):  # type: ignore[operator]
        assert_twins(episode.number, episode.payload, episode.reference, episode.ours)
        episodes += 1
    assert episodes >= 1
