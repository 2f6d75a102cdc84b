"""Messages between instances: management requests, results, timers, sub-orchestration starts.

Every function returns the message (or new instance) a backend queues; none of them
reads a clock: the caller passes ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from durable_functions._protocol import EventType, RuntimeStatus
from durable_functions.host._events import (
    event_raised_event,
    execution_started_event,
    failure_details,
    history_event,
    task_completed_event,
    task_failed_event,
    timer_fired_event,
)
from durable_functions.host._ids import compact_json
from durable_functions.host._types import (
    ActivityWorkItem,
    Event,
    InstanceState,
    InvocationError,
    NewInstance,
    OrchestrationMessage,
    ParentInstance,
    TimerItem,
)


def new_instance(
    name: str,
    instance_id: str,
    input_json: str | None,
    *,
    now: datetime,
    execution_id: str,
    version: str | None = "",
    parent: ParentInstance | None = None,
) -> NewInstance:
    """A Pending instance and its ExecutionStarted message.

    ``input_json`` is the stored raw input: JSON text of the value the host holds
    (for the SDK's ``start_new`` that value is itself JSON text, so the input is a
    JSON string literal, §9.3).
    """
    instance = InstanceState(
        instance_id=instance_id,
        execution_id=execution_id,
        name=name,
        version=version,
        runtime_status=RuntimeStatus.Pending,
        input=input_json,
        created_time=now,
        last_updated_time=now,
        parent=parent,
    )
    started = execution_started_event(
        instance_id=instance_id,
        execution_id=execution_id,
        name=name,
        version=version,
        input_json=input_json,
        parent=parent,
        timestamp=now,
    )
    message = OrchestrationMessage(
        instance_id=instance_id, execution_id=execution_id, event=started
    )
    return NewInstance(instance=instance, message=message)


def sub_orchestration_instance(
    parent: InstanceState,
    task_id: int,
    name: str,
    instance_id: str,
    input_value: Any,
    *,
    now: datetime,
    execution_id: str,
    version: str | None,
) -> NewInstance:
    """The child a sub-orchestration task (``task_id`` of ``parent``) starts.

    ``input_value`` is the input as the SubOrchestrationInstanceCreated event holds it
    (``None`` for none); the child stores its JSON text.
    """
    return new_instance(
        name,
        instance_id,
        None if input_value is None else json.dumps(input_value),
        now=now,
        execution_id=execution_id,
        version=version,
        parent=ParentInstance(
            instance_id=parent.instance_id,
            execution_id=parent.execution_id,
            name=parent.name,
            version=parent.version,
            task_schedule_id=task_id,
        ),
    )


def timer_item(
    instance: InstanceState, timer_id: int, fire_at: datetime, *, now: datetime
) -> TimerItem:
    """The TimerFired message of a durable timer that ``instance`` created, due at ``fire_at``."""
    fired = timer_fired_event(timer_id, fire_at, timestamp=max(fire_at, now))
    message = OrchestrationMessage(
        instance_id=instance.instance_id, execution_id=instance.execution_id, event=fired
    )
    return TimerItem(fire_at=fire_at, message=message)


def raise_event_message(
    instance_id: str, name: str, input_json: str | None, *, now: datetime
) -> OrchestrationMessage:
    """An external event for the current execution of ``instance_id``."""
    return OrchestrationMessage(
        instance_id=instance_id, event=event_raised_event(name, input_json, timestamp=now)
    )


def terminate_message(
    instance_id: str, reason: str | None, *, now: datetime
) -> OrchestrationMessage:
    """ExecutionTerminated message: ends the instance with status Terminated."""
    event = history_event(EventType.ExecutionTerminated, timestamp=now, Input=reason)
    return OrchestrationMessage(instance_id=instance_id, event=event)


def suspend_message(instance_id: str, reason: str | None, *, now: datetime) -> OrchestrationMessage:
    """ExecutionSuspended message: later events wait until the instance is resumed."""
    event = history_event(EventType.ExecutionSuspended, timestamp=now, Reason=reason)
    return OrchestrationMessage(instance_id=instance_id, event=event)


def resume_message(instance_id: str, reason: str | None, *, now: datetime) -> OrchestrationMessage:
    """ExecutionResumed message: delivers the events buffered while suspended."""
    event = history_event(EventType.ExecutionResumed, timestamp=now, Reason=reason)
    return OrchestrationMessage(instance_id=instance_id, event=event)


def is_runnable(status: RuntimeStatus, events: Sequence[Event]) -> bool:
    """Whether an instance with these pending events needs an episode now.

    A suspended instance only wakes up for resume or terminate; everything
    else waits in its queue.
    """
    if not events:
        return False
    if status is not RuntimeStatus.Suspended:
        return True
    wake = (EventType.ExecutionResumed, EventType.ExecutionTerminated)
    return any(e.get("EventType") in wake for e in events)


def sub_orchestration_conflict(new: NewInstance, *, now: datetime) -> OrchestrationMessage | None:
    """The failure a parent receives when its sub-orchestration's id is taken by a live one."""
    parent = new.instance.parent
    if parent is None:
        return None
    message = (
        f"An orchestration with instance ID '{new.instance.instance_id}' already exists "
        "and is not finished; choose another instance ID for the sub-orchestration."
    )
    reason = f"Orchestrator function '{new.instance.name}' failed: {message}"
    event = history_event(
        EventType.SubOrchestrationInstanceFailed,
        timestamp=now,
        TaskScheduledId=parent.task_schedule_id,
        Reason=reason,
        Details=None,
        FailureDetails=failure_details("OrchestrationAlreadyExistsException", message, None),
    )
    return OrchestrationMessage(
        instance_id=parent.instance_id, execution_id=parent.execution_id, event=event
    )


# --------------------------------------------------------------------------- activities


def activity_completed(
    item: ActivityWorkItem, result_json: str | None, *, now: datetime
) -> OrchestrationMessage:
    """TaskCompleted for the instance that scheduled ``item`` (result stored compact)."""
    event = task_completed_event(item.task_id, compact_json(result_json), timestamp=now)
    return OrchestrationMessage(
        instance_id=item.instance_id, execution_id=item.execution_id, event=event
    )


def activity_failed(
    item: ActivityWorkItem, error: InvocationError, *, now: datetime
) -> OrchestrationMessage:
    """TaskFailed with Reason ``Activity function '<name>' failed: <Type>: <message>``."""
    text = f"{error.error_type}: {error.message}" if error.error_type else error.message
    event = task_failed_event(
        item.task_id,
        reason=f"Activity function '{item.name}' failed: {text}",
        details=error.details,
        failure=failure_details(error.error_type, error.message, error.details),
        timestamp=now,
    )
    return OrchestrationMessage(
        instance_id=item.instance_id, execution_id=item.execution_id, event=event
    )
