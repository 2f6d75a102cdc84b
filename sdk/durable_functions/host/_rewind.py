"""Rewind and restart: the management operations that rebuild an instance from its history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from durable_functions._protocol import EventType, RuntimeStatus
from durable_functions.host._events import SCHEDULING as _SCHEDULING
from durable_functions.host._events import history_event
from durable_functions.host._messages import new_instance, sub_orchestration_instance
from durable_functions.host._types import (
    ActivityWorkItem,
    Event,
    InstanceState,
    NewInstance,
    OrchestrationMessage,
    RewindResult,
)

_FAILURES = (EventType.TaskFailed, EventType.SubOrchestrationInstanceFailed)
_SUCCESSES = (
    EventType.TaskCompleted,
    EventType.SubOrchestrationInstanceCompleted,
    EventType.TimerFired,
)


def rewind(
    instance: InstanceState,
    history: Sequence[Event],
    reason: str | None,
    *,
    now: datetime,
    new_id: Callable[[], str],
) -> RewindResult:
    """Take a Failed instance back to just before its first failure and retry.

    The history is cut at the start of the episode that delivered the first
    TaskFailed / SubOrchestrationInstanceFailed (or, when the orchestrator itself
    raised, at the start of its last episode). Events that arrived from that point
    on are delivered again, except failures: the failed activities run again with
    their original sequence ids, failed sub-orchestrations are rewound (or started
    again if gone). Work the orchestrator scheduled after the cut is scheduled anew
    when it replays. An ExecutionRewound event opens the next episode.

    Raises:
        ValueError: the instance is not Failed.
    """
    if instance.runtime_status is not RuntimeStatus.Failed:
        raise ValueError(
            f"Instance '{instance.instance_id}' is {instance.runtime_status.value}; "
            "only Failed instances can be rewound."
        )
    starts = [
        i for i, e in enumerate(history) if e.get("EventType") == EventType.OrchestratorStarted
    ]
    first_failure = next(
        (i for i, e in enumerate(history) if e.get("EventType") in _FAILURES), None
    )
    if first_failure is not None:
        cut = max((i for i in starts if i < first_failure), default=first_failure)
    else:
        cut = starts[-1] if starts else len(history)
    kept = list(history[:cut])
    scheduled = {
        e["EventId"]: e
        for e in kept
        if e.get("EventType") in _SCHEDULING and isinstance(e.get("EventId"), int)
    }
    done_before = {
        e.get("TaskScheduledId", e.get("TimerId"))
        for e in kept
        if e.get("EventType") in (*_SUCCESSES, *_FAILURES)
    }
    redeliver: list[Event] = []
    activities: list[ActivityWorkItem] = []
    children: list[NewInstance] = []
    for event in history[cut:]:
        kind = event.get("EventType")
        task_id = event.get("TaskScheduledId", event.get("TimerId"))
        fresh = isinstance(task_id, int) and task_id in scheduled and task_id not in done_before
        if kind in (EventType.ExecutionStarted, EventType.EventRaised) or (
            kind in _SUCCESSES and fresh
        ):
            redeliver.append(event)
        elif kind in _FAILURES and fresh and isinstance(task_id, int):
            origin = scheduled[task_id]
            if origin.get("EventType") == EventType.TaskScheduled:
                activities.append(
                    ActivityWorkItem(
                        instance_id=instance.instance_id,
                        execution_id=instance.execution_id,
                        task_id=task_id,
                        name=str(origin.get("Name")),
                        input=origin.get("Input"),
                    )
                )
            elif origin.get("EventType") == EventType.SubOrchestrationInstanceCreated:
                children.append(
                    sub_orchestration_instance(
                        instance,
                        task_id,
                        str(origin.get("Name")),
                        str(origin.get("InstanceId")),
                        origin.get("Input"),
                        now=now,
                        execution_id=new_id(),
                        version=origin.get("Version") or "",
                    )
                )
    rewound = history_event(EventType.ExecutionRewound, timestamp=now, Reason=reason)
    messages = [
        OrchestrationMessage(
            instance_id=instance.instance_id, execution_id=instance.execution_id, event=event
        )
        for event in (rewound, *redeliver)
    ]
    return RewindResult(
        instance=replace(
            instance,
            runtime_status=RuntimeStatus.Running,
            output=None,
            failure=None,
            last_updated_time=now,
        ),
        history=tuple(kept),
        messages=tuple(messages),
        activities=tuple(activities),
        children=tuple(children),
    )


def restart(
    instance: InstanceState,
    *,
    now: datetime,
    execution_id: str,
    new_instance_id: str | None = None,
) -> NewInstance:
    """Start the same orchestration again with the same input (same id, or a new one)."""
    return new_instance(
        instance.name,
        new_instance_id or instance.instance_id,
        instance.input,
        now=now,
        execution_id=execution_id,
        version=instance.version,
    )
