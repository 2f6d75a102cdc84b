"""``orchestrator_generator_wrapper``: drive an orchestrator generator without any host.

Kept for tests written against ``azure.durable_functions.testing``: they call the
orchestrator with a mocked context whose methods return objects with a
``.result``. Prefer :class:`durable_functions.testing.OrchestrationTestEnv`, which
runs the real replay path.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any


def orchestrator_generator_wrapper(
    generator: Generator[Any, Any, Any],
) -> Generator[Any, None, None]:
    """Yield every task the orchestrator yields, then its return value.

    Each task's ``.result`` is sent back into the orchestrator; if reading it
    raises, that exception is thrown into the orchestrator instead, as replay
    does with a failed task.
    """
    try:
        task = next(generator)
    except StopIteration as done:  # an orchestrator that never yields
        yield done.value
        return
    while True:
        yield task
        try:
            try:
                value = task.result
            except Exception as error:
                task = generator.throw(error)
            else:
                task = generator.send(value)
        except StopIteration as done:
            yield done.value
            return
