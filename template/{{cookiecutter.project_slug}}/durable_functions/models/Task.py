"""Reference SDK import path: ``durable_functions.tasks``'s task classes."""

from __future__ import annotations

from durable_functions.tasks import (
    AtomicTask,
    CompoundTask,
    LongTimerTask,
    RetryAbleTask,
    TaskBase,
    TaskState,
    TimerTask,
    WhenAllTask,
    WhenAnyTask,
)

__all__ = [
    "AtomicTask",
    "CompoundTask",
    "LongTimerTask",
    "RetryAbleTask",
    "TaskBase",
    "TaskState",
    "TimerTask",
    "WhenAllTask",
    "WhenAnyTask",
]
