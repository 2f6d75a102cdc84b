"""Do one unit of durable work at a time, and run until nothing is left to do.

The stepping functions (``step_*``, ``run_*``, ``run_until_idle``, ``Hooks``,
``Invoker``, ``call_http``) live in ``driver``, the one driver of episodes the SQLite
host's dispatcher uses too; they are re-exported here. The testing toolkit calls
``run_until_idle`` with a ``VirtualClock``, so a 7-day timer fires at once while the
orchestration's clock moves 7 days::

    backend, clock = MemoryBackend(), VirtualClock()
    instance_id = start_orchestration(backend, "hello", input_json='"\\"Tokyo\\""', now=clock.now())
    run_until_idle(backend, invoker, clock)
    backend.get_instance(instance_id).runtime_status   # RuntimeStatus.Completed

The management operations (start, raise event, terminate, suspend, resume, rewind,
restart, purge, signal entity) are here too, as small functions over a backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from datetime import datetime

from durable_functions._protocol import RuntimeStatus
from durable_functions.errors import (
    DurableError,
    OrchestrationNotFoundError,
)
from durable_functions.host import engine
from durable_functions.host.backend import Backend
from durable_functions.host.clock import Clock as Clock
from durable_functions.host.clock import SystemClock as SystemClock
from durable_functions.host.clock import VirtualClock as VirtualClock
from durable_functions.host.driver import Hooks as Hooks
from durable_functions.host.driver import Invoker as Invoker
from durable_functions.host.driver import _new_id
from durable_functions.host.driver import call_http as call_http
from durable_functions.host.driver import run_activity as run_activity
from durable_functions.host.driver import run_entity_batch as run_entity_batch
from durable_functions.host.driver import run_until_idle as run_until_idle
from durable_functions.host.driver import step_activity as step_activity
from durable_functions.host.driver import step_entity as step_entity
from durable_functions.host.driver import step_orchestration as step_orchestration
from durable_functions.host.driver import wait_for_next_timer as wait_for_next_timer
from durable_functions.host.engine import (
    InstanceState,
    OrchestrationMessage,
    TimerItem,
)

# --------------------------------------------------------------------------- management


class InstanceExistsError(DurableError):
    """An instance with that id exists and is not finished."""


class InstanceStateError(DurableError):
    """The operation does not apply to the instance in its current status."""


def _unknown(kind: str, name: str, known: Collection[str]) -> str:
    names = ", ".join(sorted(known)) or "none"
    return (
        f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. "
        f"Known {kind} functions: {names}."
    )


def _require(backend: Backend, instance_id: str) -> InstanceState:
    instance = backend.get_instance(instance_id)
    if instance is None:
        raise OrchestrationNotFoundError(f"No instance with ID '{instance_id}' found.")
    return instance


def start_orchestration(
    backend: Backend,
    name: str,
    *,
    now: datetime,
    instance_id: str | None = None,
    input_json: str | None = None,
    version: str | None = "",
    new_id: Callable[[], str] = _new_id,
) -> str:
    """Create a Pending instance; returns its id.

    Raises:
        InstanceExistsError: a live instance already has ``instance_id``.
    """
    instance_id = instance_id or new_id()
    new = engine.new_instance(
        name, instance_id, input_json, now=now, execution_id=new_id(), version=version
    )
    if not backend.create_instance(new):
        raise InstanceExistsError(
            f"An instance with ID '{instance_id}' already exists and is not finished."
        )
    return instance_id


def raise_event(
    backend: Backend, instance_id: str, name: str, input_json: str | None, *, now: datetime
) -> None:
    """Send an external event to a live instance.

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceStateError: the instance is finished.
    """
    instance = _require(backend, instance_id)
    if instance.runtime_status.is_terminal:
        raise InstanceStateError(
            f"Instance with ID {instance_id} is gone: either completed or failed."
        )
    backend.send([engine.raise_event_message(instance_id, name, input_json, now=now)])


def schedule_event(
    backend: Backend, instance_id: str, name: str, input_json: str | None, *, at: datetime
) -> None:
    """Deliver an external event at time ``at`` (virtual time in tests)."""
    message = engine.raise_event_message(instance_id, name, input_json, now=at)
    backend.schedule([TimerItem(fire_at=at, message=message)])


def _control(
    backend: Backend,
    instance_id: str,
    make: Callable[..., OrchestrationMessage],
    reason: str | None,
    now: datetime,
) -> bool:
    instance = _require(backend, instance_id)
    if instance.runtime_status.is_terminal:
        return False
    backend.send([make(instance_id, reason, now=now)])
    return True


def terminate(backend: Backend, instance_id: str, reason: str | None, *, now: datetime) -> bool:
    """Ask a live instance to end as Terminated; False if it had already finished."""
    return _control(backend, instance_id, engine.terminate_message, reason, now)


def suspend(backend: Backend, instance_id: str, reason: str | None, *, now: datetime) -> bool:
    """Suspend a live instance; False if it had already finished."""
    return _control(backend, instance_id, engine.suspend_message, reason, now)


def resume(backend: Backend, instance_id: str, reason: str | None, *, now: datetime) -> bool:
    """Resume a suspended instance; False if it had already finished."""
    return _control(backend, instance_id, engine.resume_message, reason, now)


def rewind(
    backend: Backend,
    instance_id: str,
    reason: str | None,
    *,
    now: datetime,
    new_id: Callable[[], str] = _new_id,
) -> None:
    """Rewind a Failed instance (and its failed sub-orchestrations); see ``engine.rewind``.

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceStateError: the instance is not Failed.
    """
    instance = _require(backend, instance_id)
    try:
        result = engine.rewind(
            instance, backend.get_history(instance_id), reason, now=now, new_id=new_id
        )
    except ValueError as exc:
        raise InstanceStateError(str(exc)) from exc
    restart_children = []
    for child in result.children:
        existing = backend.get_instance(child.instance.instance_id)
        if existing is not None and existing.runtime_status is RuntimeStatus.Failed:
            rewind(backend, child.instance.instance_id, reason, now=now, new_id=new_id)
        elif existing is None or existing.runtime_status.is_terminal:
            restart_children.append(child)
    backend.replace_history(
        result.instance,
        result.history,
        messages=result.messages,
        activities=result.activities,
        new_instances=restart_children,
    )


def restart(
    backend: Backend,
    instance_id: str,
    *,
    now: datetime,
    new_instance_id: bool = True,
    new_id: Callable[[], str] = _new_id,
) -> str:
    """Start the instance's orchestration again with the same input; returns the id used.

    Raises:
        OrchestrationNotFoundError: no such instance.
        InstanceExistsError: restarting under the same id while it still runs.
    """
    instance = _require(backend, instance_id)
    fresh = engine.restart(
        instance,
        now=now,
        execution_id=new_id(),
        new_instance_id=new_id() if new_instance_id else None,
    )
    if not backend.create_instance(fresh):
        raise InstanceExistsError(
            f"Instance '{instance_id}' is {instance.runtime_status.value}; "
            "it can be restarted under the same ID only once it has finished."
        )
    return fresh.instance.instance_id


def purge(backend: Backend, instance_id: str) -> int:
    """Delete an instance and everything about it; returns 1, or 0 if unknown."""
    return backend.purge([instance_id])


def signal_entity(
    backend: Backend,
    entity_id: str,
    operation: str,
    input_json: str | None,
    *,
    now: datetime,
    new_id: Callable[[], str] = _new_id,
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
