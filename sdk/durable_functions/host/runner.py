"""Do one unit of durable work at a time, and run until nothing is left to do.

The runner glues a ``Backend`` (storage), an ``Invoker`` (calls the app's functions)
and a ``Clock`` to the pure engine. Every step is single-threaded and short: claim,
invoke, complete. The SQLite host calls the same steps from its worker threads; the
testing toolkit calls ``run_until_idle`` with a ``VirtualClock``, so a 7-day timer
fires at once while the orchestration's clock moves 7 days::

    backend, clock = MemoryBackend(), VirtualClock()
    instance_id = management.start(backend, "hello", input_json='"\\"Tokyo\\""', now=clock.now())
    run_until_idle(backend, invoker, clock)
    backend.get_instance(instance_id).runtime_status   # RuntimeStatus.Completed

The management operations (start, raise event, terminate, …) are in ``management.py``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from durable_functions._protocol import HTTP_ACTIVITY_NAME
from durable_functions.errors import FunctionNotFoundError, HostError
from durable_functions.errors import InstanceExistsError as InstanceExistsError  # moved
from durable_functions.errors import InstanceStateError as InstanceStateError  # moved
from durable_functions.host import engine
from durable_functions.host.backend import Backend
from durable_functions.host.clock import Clock as Clock
from durable_functions.host.clock import SystemClock as SystemClock
from durable_functions.host.clock import VirtualClock as VirtualClock
from durable_functions.host.engine import (
    ActivityWorkItem,
    EngineConfig,
    EntityWorkItem,
    EpisodeOutcome,
    InvocationError,
    OrchestrationMessage,
    OrchestrationWorkItem,
)

# --------------------------------------------------------------------------- protocols


class Invoker(Protocol):
    """Calls the app's functions with the payloads the Functions host would send.

    ``invoke_orchestrator`` returns the OrchestratorState JSON text; when it raises,
    ``str(exception)`` is parsed for the ``$OutOfProcData$`` suffix (§4.5).
    ``invoke_activity`` takes the input JSON text and returns the result JSON text.
    ``invoke_entity`` takes the batch payload JSON text (§7.1) and returns the batch
    result JSON text (§7.2).
    """

    def invoke_orchestrator(self, name: str, payload: str) -> str:
        """Run one orchestrator episode."""
        ...

    def invoke_activity(self, name: str, input_json: str) -> str:
        """Run one activity."""
        ...

    def invoke_entity(self, name: str, batch_payload: str) -> str:
        """Run one entity batch."""
        ...

    def known_orchestrators(self) -> Collection[str]:
        """Names of the app's orchestrators."""
        ...

    def known_activities(self) -> Collection[str]:
        """Names of the app's activities."""
        ...

    def known_entities(self) -> Collection[str]:
        """Names of the app's entities (any case; entity ids use them lowercased)."""
        ...


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True, kw_only=True)
class Hooks:
    """Optional observers (the testing toolkit records calls and custom statuses with them)."""

    on_episode: Callable[[OrchestrationWorkItem, EpisodeOutcome], None] | None = None
    on_activity: Callable[[ActivityWorkItem, OrchestrationMessage], None] | None = None


def _new_id() -> str:
    return uuid.uuid4().hex


def step_orchestration(
    backend: Backend,
    invoker: Invoker,
    clock: Clock,
    *,
    config: EngineConfig | None = None,
    new_id: Callable[[], str] = _new_id,
    hooks: Hooks | None = None,
) -> bool:
    """Run one orchestration episode if an instance has work; False when none has."""
    now = clock.now()
    item = backend.claim_orchestration(now)
    if item is None:
        return False
    try:
        episode = engine.prepare_episode(item, now=now, config=config)
        result: str | InvocationError | None = None
        if episode.payload is not None:
            name = episode.instance.name
            if name not in invoker.known_orchestrators():
                result = InvocationError(
                    message=_unknown("orchestrator", name, invoker.known_orchestrators()),
                    error_type="FunctionNotFoundError",
                )
            else:
                try:
                    result = invoker.invoke_orchestrator(name, json.dumps(episode.payload))
                except Exception as exc:  # the orchestrator's failure is data for the engine
                    result = InvocationError.of(exc)
        outcome = engine.complete_episode(episode, result, now=now, new_id=new_id)
    except BaseException:
        backend.abandon_orchestration(item)
        raise
    backend.complete_orchestration(item, outcome)
    if hooks and hooks.on_episode:
        hooks.on_episode(item, outcome)
    return True


def step_activity(
    backend: Backend,
    invoker: Invoker,
    clock: Clock,
    *,
    hooks: Hooks | None = None,
) -> bool:
    """Run one activity (or durable HTTP call) if one is waiting; False when none is."""
    item = backend.claim_activity()
    if item is None:
        return False
    message = run_activity(item, invoker, clock)
    backend.complete_activities([(item, message)])
    if hooks and hooks.on_activity:
        hooks.on_activity(item, message)
    return True


def run_activity(item: ActivityWorkItem, invoker: Invoker, clock: Clock) -> OrchestrationMessage:
    """Invoke one claimed activity and build its TaskCompleted/TaskFailed message."""
    try:
        if item.name == HTTP_ACTIVITY_NAME:
            result = call_http(item.input)
        elif item.name not in invoker.known_activities():
            raise FunctionNotFoundError(_unknown("activity", item.name, invoker.known_activities()))
        else:
            result = invoker.invoke_activity(
                item.name, item.input if item.input is not None else "null"
            )
    except Exception as exc:  # an activity's failure goes back to its orchestration
        return engine.activity_failed(item, InvocationError.of(exc), now=clock.now())
    return engine.activity_completed(item, result, now=clock.now())


def step_entity(
    backend: Backend,
    invoker: Invoker,
    clock: Clock,
) -> bool:
    """Run one entity batch if an entity has requests; False when none has."""
    item = backend.claim_entity()
    if item is None:
        return False
    try:
        outcome = run_entity_batch(item, invoker, clock)
    except BaseException:
        backend.abandon_entity(item)
        raise
    backend.complete_entity(item, outcome)
    return True


def run_entity_batch(item: EntityWorkItem, invoker: Invoker, clock: Clock) -> engine.EntityOutcome:
    """Invoke the entity function for one claimed batch and apply its result."""
    name = item.entity.name
    known = {n.lower(): n for n in invoker.known_entities()}
    result: str | InvocationError
    if name not in known:
        result = InvocationError(
            message=_unknown("entity", name, invoker.known_entities()),
            error_type="FunctionNotFoundError",
        )
    else:
        payload = json.dumps(engine.build_entity_payload(item))
        try:
            result = invoker.invoke_entity(known[name], payload)
        except Exception as exc:  # becomes an error result for every operation
            result = InvocationError.of(exc)
    return engine.complete_entity_batch(item, result, now=clock.now())


def run_until_idle(
    backend: Backend,
    invoker: Invoker,
    clock: Clock,
    *,
    config: EngineConfig | None = None,
    new_id: Callable[[], str] = _new_id,
    hooks: Hooks | None = None,
    until: datetime | None = None,
    advance_time: bool = True,
    max_steps: int = 100_000,
) -> int:
    """Run steps until nothing is runnable; returns how many steps ran.

    When only timers are left and ``advance_time`` is true, the clock waits until
    the next one (a ``VirtualClock`` jumps there) and the run goes on; with ``until``
    it never goes past that time.

    Raises:
        HostError: ``max_steps`` steps ran without reaching idle (an endless loop).
    """
    steps = 0
    while steps < max_steps:
        # Drain one kind of work at a time, activities first: results that are ready
        # together reach their orchestration in one episode, as on a busy host, instead
        # of one replay per result (a 1000-way fan-out would replay 1000 times).
        progressed = 0
        while steps + progressed < max_steps and step_activity(
            backend, invoker, clock, hooks=hooks
        ):
            progressed += 1
        while steps + progressed < max_steps and step_entity(backend, invoker, clock):
            progressed += 1
        while steps + progressed < max_steps and step_orchestration(
            backend, invoker, clock, config=config, new_id=new_id, hooks=hooks
        ):
            progressed += 1
        steps += progressed
        if progressed:
            continue
        if not advance_time or not wait_for_next_timer(backend, clock, until=until):
            return steps
    raise HostError(
        f"run_until_idle: still busy after {max_steps} steps; an orchestration may be "
        "looping forever (e.g. continue-as-new without a timer)."
    )


def wait_for_next_timer(backend: Backend, clock: Clock, *, until: datetime | None = None) -> bool:
    """Let time pass until the next durable timer (or scheduled message) is due.

    Timers are delayed messages: they fire by becoming visible, so "firing" is
    only waiting. A ``VirtualClock`` jumps. Returns False when no timer is pending
    or the next one is after ``until`` (then the clock stops at ``until``).
    """
    due = backend.next_visible_at(clock.now())
    if due is None:
        return False
    if until is not None and due > until:
        clock.wait_until(until)
        return False
    clock.wait_until(due)
    return True


# --------------------------------------------------------------------------- durable HTTP


def call_http(request_json: str | None, *, timeout: float = 100.0) -> str:
    """Perform a ``call_http`` request; returns ``{"statusCode", "headers", "content"}`` JSON.

    Non-2xx answers are results, not failures (the orchestrator reads the status code).
    """
    request = json.loads(request_json or "{}")
    if not isinstance(request, dict) or not request.get("uri"):
        raise ValueError("call_http needs a request with a 'uri'")
    content = request.get("content")
    data = content.encode("utf-8") if isinstance(content, str) else None
    headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    http_request = urllib.request.Request(
        str(request["uri"]),
        data=data,
        headers=headers,
        method=str(request.get("method") or "GET").upper(),
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            status, response_headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, response_headers, body = exc.code, exc.headers, exc.read()
    return json.dumps(
        {
            "statusCode": status,
            "headers": dict(response_headers.items()),
            "content": body.decode("utf-8", errors="replace"),
        }
    )


def _unknown(kind: str, name: str, known: Collection[str]) -> str:
    names = ", ".join(sorted(known)) or "none"
    return (
        f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. "
        f"Known {kind} functions: {names}."
    )
