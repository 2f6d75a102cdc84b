"""Runs one program through the host simulator on one or two SDKs, episode by episode."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .programs import Program, build_orchestrator
from .simulator import HostProfile, HostSimulator, Outcome, invoke

Handler = Callable[[Any], str]


@dataclass(frozen=True)
class Episode:
    number: int
    payload: str
    reference: Outcome
    ours: Outcome | None


def orchestrator_handler(sdk: Any, program: Program) -> Handler:
    """`Orchestrator.create` of `sdk` over the program's generator function."""
    handler: Handler = sdk.Orchestrator.create(build_orchestrator(program, sdk))
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
