"""The management operations, once, over any ``Backend``: start, events, control, rewind, ….

The local host's HTTP API, the in-memory test client and ``OrchestrationTestEnv``
all call these, so each rule (which statuses refuse which operation, the rewind
depth limit, the refusal texts) exists in one place. Pure decisions stay in the
engine; time comes in as ``now`` and ids from ``new_id``, so the same code runs
on the wall clock and in virtual time.

Refusals raise ``ManagementError`` subclasses whose ``status`` is the HTTP status
the management API answers with; their messages are the API's texts::

    instance_id = start(backend, "hello", now=clock.now(), input_json='"\\"Tokyo\\""')
    raise_event(backend, instance_id, "Approved", "true", now=clock.now())
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from durable_functions._protocol import RuntimeStatus
from durable_functions.errors import (
    EntityNotFoundError,
    InstanceExistsError,
    InstanceStateError,
    OrchestrationNotFoundError,
)
from durable_functions.host import engine
from durable_functions.host.backend import Backend
from durable_functions.host.engine import (
    EntityState,
    Event,
    InstanceState,
    OrchestrationMessage,
    TimerItem,
)

MAX_REWIND_DEPTH = 32
"""How deep a rewind follows failed sub-orchestrations (a guard against cycles)."""

__all__ = [
    "MAX_REWIND_DEPTH",
    "get_entity",
    "get_instance",
    "history",
    "purge",
    "purge_by",
    "raise_event",
    "random_id",
    "require_event_target",
    "restart",
    "resume",
    "rewind",
    "schedule_event",
    "signal_entity",
    "start",
    "suspend",
    "terminate",
]


def random_id() -> str:
    """A fresh random id (32 hex digits): the default ``new_id`` of every operation."""
    return uuid.uuid4().hex


def _not_found(instance_id: str, *, status: int | None = None) -> OrchestrationNotFoundError:
    return OrchestrationNotFoundError(f"No instance with ID '{instance_id}' found.", status=status)


# --------------------------------------------------------------------------- queries


def get_instance(backend: Backend, instance_id: str) -> InstanceState:
    """The instance's status row.

    Raises:
        OrchestrationNotFoundError: no such instance.
    """
    instance = backend.get_instance(instance_id)
    if instance is None:
        raise _not_found(instance_id)
    return instance


def history(backend: Backend, instance_id: str) -> tuple[InstanceState, list[Event]]:
    """The instance and its current execution's raw history.

    Raises:
        OrchestrationNotFoundError: no such instance.
    """
    return get_instance(backend, instance_id), backend.get_history(instance_id)


def get_entity(backend: Backend, entity_id: str) -> EntityState:
    """An existing entity's stored state (``@name@key`` id).

    Raises:
        EntityNotFoundError: the entity never ran or was deleted.
    """
    entity = backend.get_entity(entity_id)
    if entity is None or not entity.exists:
        raise EntityNotFoundError(f"No entity with ID '{entity_id}' found.")
    return entity


# --------------------------------------------------------------------------- instances


def start(
    backend: Backend,
    name: str,
    *,
    now: datetime,
    instance_id: str | None = None,
    input_json: str | None = None,
    version: str | None = "",
    new_id: Callable[[], str] = random_id,
) -> str:
    """Create a Pending instance (a finished one with that id is replaced); returns its id.

    ``input_json`` is the raw JSON text the host stores (for the SDK's client, JSON
    text of the ``df_dumps`` string).

    Raises:
        InstanceExistsError: a live instance already has ``instance_id``.
    """
    instance_id = instance_id or new_id()
    new = engine.new_instance(
        name, instance_id, input_json, now=now, execution_id=new_id(), version=version
    )
    if not backend.create_instance(new):
        raise InstanceExistsError(
            f"An instance with ID '{instance_id}' already exists and is still running."
        )
    return instance_id


def require_event_target(backend: Backend, instance_id: str) -> InstanceState:
    """The instance, if it can still receive events.

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceStateError: the instance has finished.
    """
    instance = get_instance(backend, instance_id)
    if instance.runtime_status.is_terminal:
        raise InstanceStateError(
            f"Instance with ID '{instance_id}' is gone: either completed or failed."
        )
    return instance


def raise_event(
    backend: Backend, instance_id: str, name: str, input_json: str | None, *, now: datetime
) -> None:
    """Send an external event to a live instance.

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceStateError: the instance has finished.
    """
    require_event_target(backend, instance_id)
    backend.send([engine.raise_event_message(instance_id, name, input_json, now=now)])


def schedule_event(
    backend: Backend, instance_id: str, name: str, input_json: str | None, *, at: datetime
) -> None:
    """Deliver an external event at time ``at`` (virtual time in tests).

    Raises:
        OrchestrationNotFoundError: no such instance.
    """
    get_instance(backend, instance_id)
    message = engine.raise_event_message(instance_id, name, input_json, now=at)
    backend.schedule([TimerItem(fire_at=at, message=message)])


def _control(
    backend: Backend,
    instance_id: str,
    make: Callable[..., OrchestrationMessage],
    reason: str | None,
    now: datetime,
) -> None:
    status = get_instance(backend, instance_id).runtime_status
    if status.is_terminal:
        raise InstanceStateError(f"Instance with ID '{instance_id}' is already {status.value}.")
    backend.send([make(instance_id, reason, now=now)])


def terminate(backend: Backend, instance_id: str, reason: str | None, *, now: datetime) -> None:
    """Ask a live instance to end as Terminated (with ``reason`` as its output).

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceStateError: the instance has already finished.
    """
    _control(backend, instance_id, engine.terminate_message, reason, now)


def suspend(backend: Backend, instance_id: str, reason: str | None, *, now: datetime) -> None:
    """Suspend a live instance (its messages wait until it is resumed).

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceStateError: the instance has already finished.
    """
    _control(backend, instance_id, engine.suspend_message, reason, now)


def resume(backend: Backend, instance_id: str, reason: str | None, *, now: datetime) -> None:
    """Resume a suspended instance.

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceStateError: the instance has already finished.
    """
    _control(backend, instance_id, engine.resume_message, reason, now)


def rewind(
    backend: Backend,
    instance_id: str,
    reason: str | None,
    *,
    now: datetime,
    new_id: Callable[[], str] = random_id,
) -> None:
    """Rewind a Failed instance and, in place, its failed sub-orchestrations (``engine.rewind``).

    A child is rewound in place only while it exists, is Failed and still belongs to
    this parent; otherwise it is started again. Nesting stops at ``MAX_REWIND_DEPTH``.

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceStateError: the instance is not Failed.
    """
    instance = get_instance(backend, instance_id)
    if instance.runtime_status is not RuntimeStatus.Failed:
        raise InstanceStateError(
            "The rewind operation is only supported on failed orchestration instances."
        )
    _rewind_failed(backend, instance, reason, now=now, new_id=new_id, depth=0)


def _rewind_failed(
    backend: Backend,
    instance: InstanceState,
    reason: str | None,
    *,
    now: datetime,
    new_id: Callable[[], str],
    depth: int,
) -> None:
    result = engine.rewind(
        instance, tuple(backend.get_history(instance.instance_id)), reason, now=now, new_id=new_id
    )
    in_place = [
        child.instance.instance_id
        for child in result.children
        if _rewinds_in_place(backend.get_instance(child.instance.instance_id), instance)
    ]
    backend.replace_history(
        result.instance,
        result.history,
        messages=result.messages,
        activities=result.activities,
        new_instances=[c for c in result.children if c.instance.instance_id not in in_place],
    )
    # A failed sub-orchestration that still exists is rewound in place; its completion
    # then resumes this instance.
    for child_id in in_place:
        child = backend.get_instance(child_id)
        if child is not None and depth < MAX_REWIND_DEPTH:
            _rewind_failed(backend, child, reason, now=now, new_id=new_id, depth=depth + 1)


def _rewinds_in_place(child: InstanceState | None, parent: InstanceState) -> bool:
    return (
        child is not None
        and child.runtime_status is RuntimeStatus.Failed
        and child.parent is not None
        and child.parent.instance_id == parent.instance_id
    )


def restart(
    backend: Backend,
    instance_id: str,
    *,
    now: datetime,
    new_instance_id: bool = True,
    new_id: Callable[[], str] = random_id,
) -> str:
    """Start the instance's orchestration again with the same input; returns the id used.

    Raises:
        OrchestrationNotFoundError: no such instance (``status`` 400, as the
            extension answers a restart of an unknown id).
        InstanceExistsError: restarting under the same id while it still runs.
    """
    instance = backend.get_instance(instance_id)
    if instance is None:
        raise _not_found(instance_id, status=400)
    execution_id = new_id()
    target = new_id() if new_instance_id else instance_id
    if not new_instance_id and not instance.runtime_status.is_terminal:
        raise InstanceExistsError(
            f"Instance '{instance_id}' is still {instance.runtime_status.value}; "
            "it can only be restarted with the same id once it has finished."
        )
    fresh = engine.restart(instance, now=now, execution_id=execution_id, new_instance_id=target)
    if not backend.create_instance(fresh):
        raise InstanceExistsError(f"An instance with ID '{target}' is still running.")
    return target


def purge(backend: Backend, instance_id: str) -> int:
    """Delete an instance with its history and queues; returns 1, or 0 if it was unknown."""
    return backend.purge([instance_id])


def purge_by(
    backend: Backend,
    *,
    created_from: datetime | None,
    created_to: datetime | None = None,
    statuses: Sequence[str] = (),
    now: datetime,
) -> int:
    """Delete every instance created in ``[created_from, created_to or now]`` with one of
    ``statuses`` (any, when empty); returns how many were deleted."""
    ids: list[str] = []
    token: str | None = None
    while True:
        page = backend.list_instances(
            created_from=created_from,
            created_to=created_to or now,
            statuses=statuses,
            top=500,
            continuation=token,
        )
        ids.extend(i.instance_id for i in page.instances)
        token = page.continuation
        if token is None:
            break
    return backend.purge(ids) if ids else 0


# --------------------------------------------------------------------------- entities


def signal_entity(
    backend: Backend,
    entity_id: str,
    operation: str,
    input_json: str | None,
    *,
    now: datetime,
    new_id: Callable[[], str] = random_id,
) -> None:
    """Send a one-way operation to an entity (``@name@key``)."""
    message = engine.entity_signal_message(
        entity_id, operation, input_json, now=now, request_id=_as_guid(new_id())
    )
    backend.send_entity([message])


def _as_guid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value
