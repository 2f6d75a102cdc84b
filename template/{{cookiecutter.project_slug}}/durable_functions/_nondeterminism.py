"""One wording for a non-determinism mismatch: the SDK, the local host and ``durable replay``.

All three compare what history recorded at a sequence id with what the code does now;
a user who meets the same mismatch in a test, in ``durable replay`` and in a failed
instance's output should read the same text. The SDK's wording is the canonical one.

A task is described by a *descriptor* ``(kind, name, target)``:

* ``("activity", name, None)``, ``("sub-orchestration", name, None)``;
* ``("timer", None, None)``, ``("http", None, None)``, ``("continue-as-new", None, None)``;
* ``("entity", operation, entity_id)`` for entity calls and signals (``entity_id`` is the
  scheduler id ``@name@key``).
"""

from __future__ import annotations

import json
from typing import Any

from durable_functions.errors import NonDeterminismError
from durable_functions.history import HistoryEventType

Descriptor = tuple[str, "str | None", "str | None"]
"""``(kind, name, target)`` of a scheduled task, as the SDK describes the tasks it creates."""

NOT_SCHEDULED = "not schedule it (the code no longer schedules this task at this point)"
"""What the code does when history scheduled a task the code no longer reaches."""


def recorded_descriptor(event: dict[str, Any], event_type: int) -> Descriptor:
    """The descriptor of a recorded scheduling event (TaskScheduled, TimerCreated, …).

    Every type other than TaskScheduled, SubOrchestrationInstanceCreated and
    TimerCreated is read as an entity request (EventSent): its operation comes from
    the request JSON in ``Input``.
    """
    if event_type == HistoryEventType.TASK_SCHEDULED:
        return ("activity", event.get("Name"), None)
    if event_type == HistoryEventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
        return ("sub-orchestration", event.get("Name"), None)
    if event_type == HistoryEventType.TIMER_CREATED:
        return ("timer", None, None)
    operation = None
    try:
        request = json.loads(event.get("Input") or "")
        if isinstance(request, dict) and isinstance(request.get("op"), str):
            operation = request["op"]
    except (TypeError, ValueError):
        pass
    return ("entity", operation, event.get("InstanceId"))


def describe_action(kind: str, name: str | None, target: str | None) -> str:
    """A task the code created, e.g. ``activity 'b'``, ``a timer``,
    ``entity operation 'add' on '@counter@k1'``."""
    if kind == "timer":
        return "a timer"
    if kind == "http":
        return "an HTTP call"
    if kind == "continue-as-new":
        return "continue_as_new"
    if kind == "entity":
        operation = f"operation {name!r}" if name is not None else "an operation"
        return f"entity {operation} on {target!r}"
    return f"{kind} {name!r}"


def describe_event(event: dict[str, Any], event_type: int | None = None) -> str:
    """What history recorded, e.g. ``activity 'a' (TASK_SCHEDULED)``.

    ``event_type`` defaults to the event's own ``EventType`` (pass it when already decoded).
    """
    if event_type is None:
        event_type = int(event.get("EventType", -1))
    try:
        type_name = HistoryEventType(event_type).name
    except ValueError:
        type_name = f"event type {event_type}"
    return f"{describe_action(*recorded_descriptor(event, event_type))} ({type_name})"


def nondeterminism_error(
    event_id: int | None,
    event: dict[str, Any],
    actual: Descriptor | None,
    *,
    event_type: int | None = None,
) -> NonDeterminismError:
    """The error for history's ``event`` at ``event_id`` against the task the code created there.

    ``actual`` is ``None`` when the code no longer schedules any task at that id.
    """
    return NonDeterminismError(
        event_id=event_id,
        recorded=describe_event(event, event_type),
        actual=describe_action(*actual) if actual is not None else NOT_SCHEDULED,
    )
