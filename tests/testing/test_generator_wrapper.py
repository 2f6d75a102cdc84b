"""``orchestrator_generator_wrapper``: the reference SDK's host-less driver, kept for old tests."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from durable_functions.testing import orchestrator_generator_wrapper


class Done:
    """A finished task as a mocked context would return it."""

    def __init__(self, result: Any) -> None:
        self.result = result


class Failed:
    """A failed task: reading ``.result`` raises."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    @property
    def result(self) -> Any:
        raise self.error


def chain(tasks: list[Any]) -> Generator[Any, Any, Any]:
    total = 0
    for task in tasks:
        try:
            total += yield task
        except ValueError:
            total -= 100
    return total


def test_it_yields_every_task_then_the_return_value() -> None:
    tasks = [Done(1), Done(2)]

    assert list(orchestrator_generator_wrapper(chain(tasks))) == [*tasks, 3]


def test_a_failed_task_is_thrown_into_the_orchestrator() -> None:
    tasks = [Done(1), Failed(ValueError("no")), Done(5)]

    assert list(orchestrator_generator_wrapper(chain(tasks)))[-1] == -94


def test_an_orchestrator_that_never_yields_gives_its_return_value() -> None:
    assert list(orchestrator_generator_wrapper(chain([]))) == [0]


@pytest.mark.reference
def test_it_matches_the_reference_wrapper() -> None:
    from azure.durable_functions.testing import (
        orchestrator_generator_wrapper as reference_wrapper,
    )

    tasks = [Done(1), Failed(ValueError("no")), Done(5), Done(7)]

    assert list(orchestrator_generator_wrapper(chain(tasks))) == list(
        reference_wrapper(chain(tasks))
    )
