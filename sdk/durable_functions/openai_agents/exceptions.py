"""The internal signal that suspends an agent orchestrator (``...openai_agents.exceptions``)."""

from __future__ import annotations

from durable_functions.tasks import TaskBase

__all__ = ["YieldException"]


class YieldException(BaseException):
    """Raised inside the Agents SDK's code when a call's result is not in history yet.

    A ``BaseException`` so that the SDK's ``except Exception`` handlers let it through to
    the orchestrator, which yields :attr:`task` and ends the episode.
    """

    def __init__(self, task: TaskBase) -> None:
        super().__init__("Orchestrator should yield.")
        self.task = task
