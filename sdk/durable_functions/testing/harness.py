"""Run orchestrations in memory, in virtual time, through the real replay path.

``OrchestrationTestEnv`` drives the same engine as the local host (the pure
``durable_functions.host.engine`` over a ``MemoryBackend``) with a
``VirtualClock``: a 7-day timer completes at once while
``context.current_utc_datetime`` moves 7 days. Orchestrators, activities and
entities are invoked as the Functions worker invokes them (JSON payloads
through the ``azure.functions`` converters), so a passing test means the code
replays correctly on the host too::

    env = OrchestrationTestEnv(app)
    result = env.run("approval", input={"order": 7}, events=[("Approved", True)],
                     stubs={"charge_card": {"ok": True}})
    assert result.output == "shipped"
    assert [c.name for c in result.activity_calls] == ["charge_card", "ship"]
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from durable_functions._protocol import EventType, RuntimeStatus
from durable_functions.errors import (
    DurableError,
    FailureDetails,
    FunctionNotFoundError,
    InstanceStateError,
    OrchestrationFailedError,
)
from durable_functions.host import driver, management
from durable_functions.host.api import ManagementApi
from durable_functions.host.clock import VirtualClock
from durable_functions.host.engine import (
    ActivityWorkItem,
    EngineConfig,
    EpisodeOutcome,
    InstanceState,
    OrchestrationMessage,
    OrchestrationWorkItem,
    entity_scheduler_id,
)
from durable_functions.host.functions import LoadedApp
from durable_functions.host.memory import MemoryBackend
from durable_functions.host.payloads import parse_json_text
from durable_functions.host.sessions import SessionCache, SessionSettings
from durable_functions.serialization import df_dumps, df_loads
from durable_functions.status import OrchestrationRuntimeStatus
from durable_functions.testing._apps import app_default_version, load_app_object
from durable_functions.testing._client import TASK_HUB, TestDurableClient
from durable_functions.testing._invoker import (
    EnvInvoker,
    decode_activity_input,
)

DEFAULT_START = datetime(2024, 1, 1, tzinfo=timezone.utc)
"""Virtual time at which every test environment starts, unless told otherwise."""


# -- what a test gets back ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalEvent:
    """An external event to deliver to an orchestration.

    ``at`` is a virtual time: a ``timedelta`` after the run starts, or an aware
    ``datetime``; ``None`` delivers it at once (before the orchestrator waits for
    it, so it is buffered as on the real host).
    """

    name: str
    data: Any = None
    at: timedelta | datetime | None = None
    instance_id: str | None = None
    """Target instance; ``None`` = the orchestration being run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityCall:
    """One activity invocation an orchestration scheduled, as its history records it."""

    name: str
    input: Any
    """The input, decoded as the activity received it."""
    task_id: int
    """The task's sequence number (``EventId`` of its TaskScheduled event)."""
    scheduled_at: str | None = None
    """Virtual time the call was scheduled (history timestamp)."""
    output: Any = None
    """The result, once it completed."""
    error: str | None = None
    """The failure reason (``Activity function 'x' failed: …``), if it failed."""
    completed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OrchestrationResult:
    """Where an orchestration instance stands after a run."""

    instance_id: str
    name: str
    runtime_status: OrchestrationRuntimeStatus
    input: Any
    output: Any
    """The return value (``None`` unless Completed)."""
    error: str | None
    """The failure text when Failed (``Orchestrator function 'x' failed: …``), the
    reason when Terminated, else ``None``."""
    failure: FailureDetails | None
    """Structured failure details when Failed."""
    custom_status: Any
    """The last custom status."""
    custom_statuses: list[Any]
    """Every custom status the orchestration set, one entry per change, in order."""
    activity_calls: list[ActivityCall]
    """Activities this instance scheduled (retries included), in order."""
    history: list[dict[str, Any]]
    """The current execution's full history (raw events, as the host stores them)."""
    created_time: datetime
    last_updated_time: datetime

    @property
    def is_completed(self) -> bool:
        """True if the orchestration returned normally."""
        return self.runtime_status is OrchestrationRuntimeStatus.Completed

    def raise_for_status(self) -> OrchestrationResult:
        """Raise ``OrchestrationFailedError`` unless the orchestration Completed.

        Handy as ``output = env.run(...).raise_for_status().output``.
        """
        if not self.is_completed:
            raise OrchestrationFailedError(
                f"orchestration {self.name!r} ({self.instance_id}) is "
                f"{self.runtime_status.value}: {self.error or 'no error text'}"
            )
        return self


# -- the environment ----------------------------------------------------------------------------


class OrchestrationTestEnv:
    """An in-memory task hub in virtual time for one app.

    Args:
        app: a ``DFApp``, a ``Blueprint``, a module holding them, or a path to
            ``function_app.py``; ``None`` for orchestrators passed as functions.
        stubs: activity stand-ins for every run: ``{name: value | callable |
            exception}``. A callable gets the activity's input; an exception
            (instance or class) is raised, failing the activity.
        start: the virtual time the environment starts at (aware datetime).
        config: engine settings (timer limits, schema versions), as the host takes them.
        sessions: keep each orchestration running between its episodes, so a long one
            costs O(N), not O(N²); ``False`` replays the whole history every episode.
    """

    def __init__(
        self,
        app: Any = None,
        *,
        stubs: Mapping[str, Any] | None = None,
        start: datetime = DEFAULT_START,
        config: EngineConfig | None = None,
        sessions: bool = True,
    ) -> None:
        loaded = load_app_object(app) if app is not None else LoadedApp(Path.cwd(), [])
        self.app = loaded
        self.clock = VirtualClock(start)
        self.backend = MemoryBackend(self.clock)
        self.sessions = SessionCache(
            self.clock, SessionSettings(enabled=sessions, idle_timeout=None)
        )
        """Orchestrations kept alive between episodes (see ``durable_functions.host.sessions``)."""
        self.config = config or EngineConfig(default_version=app_default_version(loaded))
        self._invoker = EnvInvoker(loaded)
        self._base_stubs: dict[str, Any] = dict(stubs or {})
        self._invoker.stubs = dict(self._base_stubs)
        self._invoker.refresh()
        self._ids = 0
        self._instances = 0
        self._custom_statuses: dict[str, list[Any]] = {}
        self._closed: dict[str, list[list[dict[str, Any]]]] = {}
        self._calls: list[tuple[str, ActivityWorkItem]] = []
        self._hooks = driver.Hooks(on_episode=self._on_episode, on_activity=self._on_activity)

    # -- time ---------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The current virtual time."""
        return self.clock.now()

    def _at(self, when: timedelta | datetime | None, origin: datetime) -> datetime:
        if when is None:
            return self.now
        if isinstance(when, timedelta):
            return origin + when
        if when.tzinfo is None:
            raise ValueError("event times must be timezone-aware datetimes or timedeltas")
        return when.astimezone(timezone.utc)

    # -- stand-ins and names -------------------------------------------------------------

    def stub(self, activity: str, value: Any) -> None:
        """Replace activity ``activity`` from now on (see the class docstring)."""
        self._base_stubs[activity] = value
        self._invoker.stubs[activity] = value
        self._invoker.refresh()

    @contextmanager
    def _stubbed(self, stubs: Mapping[str, Any] | None) -> Iterator[None]:
        if not stubs:
            yield
            return
        self._invoker.stubs = {**self._base_stubs, **_named(stubs)}
        self._invoker.refresh()
        try:
            yield
        finally:
            self._invoker.stubs = dict(self._base_stubs)
            self._invoker.refresh()

    def orchestrator_name(self, orchestrator: Any) -> str:
        """The durable name of ``orchestrator`` (a name, a decorated function or a generator).

        A generator function the app does not register is registered here under its
        ``__name__``, so orchestrators can be tested without an app.

        Raises:
            FunctionNotFoundError: a name the app does not know.
        """
        if isinstance(orchestrator, str):
            known = self._invoker.known_orchestrators()
            if orchestrator in known:
                return orchestrator
            match = next((k for k in known if k.lower() == orchestrator.lower()), None)
            if match is None:
                names = ", ".join(sorted(known)) or "none"
                raise FunctionNotFoundError(
                    f"no orchestrator named {orchestrator!r} (known: {names})"
                )
            return match
        handle = _orchestrator_handle(orchestrator)
        for fn in self.app.functions:
            if fn.kind == "orchestrator" and (
                fn.func is handle
                or fn.func is orchestrator
                or getattr(fn.func, "orchestrator_function", None) is orchestrator
            ):
                return fn.durable_name
        user = getattr(handle, "orchestrator_function", orchestrator)
        if not callable(user):
            raise FunctionNotFoundError(f"{orchestrator!r} is not an orchestrator")
        name = str(getattr(user, "__name__", "orchestrator"))
        if name not in self._invoker.adhoc:
            if handle is None:
                from durable_functions.replay import Orchestrator

                handle = Orchestrator.create(user)
            self._invoker.adhoc[name] = handle
            self._invoker.refresh()
        return name

    # -- running ------------------------------------------------------------------------

    def start(
        self,
        orchestrator: Any,
        input: Any = None,
        *,
        instance_id: str | None = None,
        run: bool = False,
        version: str | None = None,
    ) -> str:
        """Create an instance (Pending) and return its id; ``run=True`` also runs it until idle.

        The input is stored as the SDK's client stores it, so ``context.get_input()``
        returns ``input`` (custom objects and dataclasses included). Without ``version``
        the instance gets host.json's ``defaultVersion``, as on the host.
        """
        name = self.orchestrator_name(orchestrator)
        instance_id = instance_id or self._new_instance_id()
        input_json = None if input is None else json.dumps(df_dumps(input))
        management.start(
            self.backend,
            name,
            now=self.now,
            instance_id=instance_id,
            input_json=input_json,
            version=version if version is not None else self.config.default_version or "",
            new_id=self._new_id,
        )
        if run:
            self.run_until_idle()
        return instance_id

    def run(
        self,
        orchestrator: Any,
        input: Any = None,
        *,
        stubs: Mapping[str, Any] | None = None,
        events: Iterable[ExternalEvent | tuple[Any, ...] | Mapping[str, Any]] = (),
        instance_id: str | None = None,
        timeout: timedelta = timedelta(days=3650),
        version: str | None = None,
    ) -> OrchestrationResult:
        """Start an orchestration and run it until it ends (or nothing is left to happen).

        Timers fire in virtual time. ``events`` are ``ExternalEvent`` objects,
        ``(name, data)`` / ``(name, data, at)`` tuples or dicts with those keys; without
        ``at`` an event is delivered right after the start. The run stops when the
        instance ends, when it waits for something that will never come (the result
        then says Running), or after ``timeout`` of virtual time.
        """
        with self._stubbed(stubs):
            origin = self.now
            instance_id = self.start(orchestrator, input, instance_id=instance_id, version=version)
            for event in events:
                self._deliver(_as_event(event), default_instance=instance_id, origin=origin)
            self._run_until_done(instance_id, deadline=origin + timeout)
        return self.result(instance_id)

    def _run_until_done(self, instance_id: str, *, deadline: datetime) -> None:
        """Do the work that is due, then let time pass to the next timer, until the
        instance ends or the next timer is after ``deadline`` (the clock stays)."""
        while True:
            self.run_until_idle()
            instance = self.backend.get_instance(instance_id)
            if instance is not None and instance.runtime_status.is_terminal:
                return
            if not driver.wait_for_next_timer(
                self.backend, self.clock, until=deadline, stop_at_until=False
            ):
                return

    def run_until_idle(self, *, max_steps: int = 1_000_000) -> int:
        """Do all the work that is due now (no time passes); returns how many steps ran.

        Pending activities and entity operations run before the next orchestration
        episode, so the results of a fan-out reach the orchestrator in one episode,
        as they do on a busy host.

        Raises:
            HostError: ``max_steps`` steps without getting idle (an endless loop, e.g.
                ``continue_as_new`` without a timer).
        """
        episodes = driver.Episodes(
            config=self.config, new_id=self._new_id, hooks=self._hooks, sessions=self.sessions
        )
        return driver.run_until_idle(
            self.backend,
            self._invoker,
            self.clock,
            episodes,
            http=self._invoker.call_http,
            advance_time=False,
            max_steps=max_steps,
            episodes_per_round=1,
        )

    def run_until_complete(
        self, instance_id: str, *, timeout: timedelta = timedelta(days=3650)
    ) -> OrchestrationResult:
        """Let virtual time pass (timers fire) until the instance ends or nothing is left."""
        self._run_until_done(instance_id, deadline=self.now + timeout)
        return self.result(instance_id)

    def advance(self, delta: timedelta) -> None:
        """Let ``delta`` of virtual time pass, firing timers and scheduled events on the way."""
        if delta < timedelta(0):
            raise ValueError("virtual time cannot go backwards")
        self.advance_to(self.now + delta)

    def advance_to(self, when: datetime) -> None:
        """Let virtual time pass until ``when`` (see ``advance``)."""
        self.run_until_idle()
        while True:
            due = self.backend.next_visible_at(self.now)
            if due is None or due > when:
                break
            self.clock.wait_until(due)
            self.run_until_idle()
        self.clock.wait_until(when)
        self.run_until_idle()

    # -- events and management ----------------------------------------------------------

    def raise_event(
        self,
        instance_id: str,
        name: str,
        data: Any = None,
        *,
        at: timedelta | datetime | None = None,
    ) -> None:
        """Send an external event now, or schedule it at a virtual time (``at``).

        ``data`` arrives in the orchestrator as the value itself (as an event raised
        by any HTTP client with a JSON body).
        """
        self._deliver(
            ExternalEvent(name=name, data=data, at=at, instance_id=instance_id),
            default_instance=instance_id,
            origin=self.now,
        )

    def _deliver(self, event: ExternalEvent, *, default_instance: str, origin: datetime) -> None:
        instance_id = event.instance_id or default_instance
        input_json = df_dumps(event.data)
        at = self._at(event.at, origin)
        if at <= self.now:
            management.raise_event(self.backend, instance_id, event.name, input_json, now=self.now)
        else:
            management.schedule_event(self.backend, instance_id, event.name, input_json, at=at)

    def terminate(self, instance_id: str, reason: str | None = None) -> None:
        """Terminate a running instance at the next ``run_until_idle`` (a finished one stays)."""
        with suppress(InstanceStateError):
            management.terminate(self.backend, instance_id, reason, now=self.now)

    def suspend(self, instance_id: str, reason: str | None = None) -> None:
        """Suspend a running instance (a finished one is left as it is)."""
        with suppress(InstanceStateError):
            management.suspend(self.backend, instance_id, reason, now=self.now)

    def resume(self, instance_id: str, reason: str | None = None) -> None:
        """Resume a suspended instance (a finished one is left as it is)."""
        with suppress(InstanceStateError):
            management.resume(self.backend, instance_id, reason, now=self.now)

    def signal_entity(self, entity: Any, operation: str, input: Any = None) -> None:
        """Send a one-way operation to an entity (``EntityId`` or ``(name, key)``)."""
        name, key = _entity_parts(entity)
        input_json = None if input is None else json.dumps(df_dumps(input))
        entity_id = entity_scheduler_id(name, key)
        management.signal_entity(
            self.backend, entity_id, operation, input_json, now=self.now, new_id=self._new_id
        )

    def entity_state(self, entity: Any, default: Any = None) -> Any:
        """The stored state of an entity, or ``default`` if it does not exist."""
        name, key = _entity_parts(entity)
        state = self.backend.get_entity(entity_scheduler_id(name, key))
        if state is None or not state.exists or state.state is None:
            return default
        return df_loads(state.state)

    def client(self, *, auto_run: bool = True) -> TestDurableClient:
        """A ``DurableOrchestrationClient`` wired to this environment (no network).

        Its async methods behave as against the host's management API. With
        ``auto_run`` every request first does the work that is due (no time passes);
        ``wait_for_completion_or_create_check_status_response`` lets virtual time
        pass up to its timeout.
        """
        return TestDurableClient(self, auto_run=auto_run)

    def management_api(self) -> ManagementApi:
        """The local host's management routes over this environment (what ``client()`` calls)."""
        return ManagementApi(
            backends=lambda _hub: (self.backend, TASK_HUB),
            clock=self.clock,
            resolve_orchestrator=self.orchestrator_name,
            known_orchestrators=lambda: sorted(self._invoker.known_orchestrators()),
            new_id=self._new_id,
            new_instance_id=self._new_instance_id,
            default_version=self.config.default_version or "",
        )

    # -- results -------------------------------------------------------------------------

    @property
    def activity_calls(self) -> list[tuple[str, str, Any]]:
        """Every activity run in this environment: ``(instance_id, name, input)``."""
        return [
            (iid, item.name, decode_activity_input(item.input or "null"))
            for iid, item in self._calls
        ]

    def instance_ids(self) -> list[str]:
        """Every instance in the environment, oldest first (sub-orchestrations included)."""
        page = self.backend.list_instances(top=1_000_000)
        return [i.instance_id for i in page.instances]

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """The current execution's raw history (what ``durable replay`` reads)."""
        return self.backend.get_history(instance_id)

    def generations(self, instance_id: str) -> list[list[dict[str, Any]]]:
        """Every execution's history, oldest first; more than one after ``continue_as_new``.

        Each earlier execution ends with its ContinueAsNew event, so it can be replayed
        (``durable replay``) like any other history.
        """
        return [*self._closed.get(instance_id, []), self.backend.get_history(instance_id)]

    def export_history(self, instance_id: str) -> dict[str, Any]:
        """The document ``durable history`` writes, for replay tests."""
        instance = self._instance(instance_id)
        return {
            "instanceId": instance.instance_id,
            "executionId": instance.execution_id,
            "name": instance.name,
            "runtimeStatus": instance.runtime_status.value,
            "history": self.backend.get_history(instance_id),
        }

    def result(self, instance_id: str) -> OrchestrationResult:
        """Where the instance stands now."""
        instance = self._instance(instance_id)
        history = self.backend.get_history(instance_id)
        status = OrchestrationRuntimeStatus(instance.runtime_status.value)
        output: Any = None
        error: str | None = None
        failure: FailureDetails | None = None
        if instance.runtime_status is RuntimeStatus.Completed:
            output = parse_json_text(instance.output)
        elif instance.runtime_status is RuntimeStatus.Failed:
            text = parse_json_text(instance.output)
            error = text if isinstance(text, str) else json.dumps(text)
            details = instance.failure or {}
            failure = FailureDetails(
                reason=error,
                details=details.get("StackTrace") or details.get("ErrorMessage"),
                error_type=details.get("ErrorType"),
            )
        elif instance.runtime_status is RuntimeStatus.Terminated:
            reason = parse_json_text(instance.output)
            error = None if reason is None else str(reason)
        statuses = list(self._custom_statuses.get(instance_id, []))
        return OrchestrationResult(
            instance_id=instance_id,
            name=instance.name,
            runtime_status=status,
            input=_decode_input(instance.input),
            output=output,
            error=error,
            failure=failure,
            custom_status=parse_json_text(instance.custom_status),
            custom_statuses=statuses,
            activity_calls=_activity_calls(history),
            history=history,
            created_time=instance.created_time,
            last_updated_time=instance.last_updated_time,
        )

    def _instance(self, instance_id: str) -> InstanceState:
        return management.get_instance(self.backend, instance_id)

    # -- hooks and ids -------------------------------------------------------------------

    def _on_episode(self, item: OrchestrationWorkItem, outcome: EpisodeOutcome) -> None:
        if outcome.new_execution and outcome.closed_history:
            closed = [*item.history, *outcome.closed_history]
            self._closed.setdefault(outcome.instance.instance_id, []).append(closed)
        if outcome.state is None:
            return
        value = outcome.state.get("customStatus")
        if value is None:
            return
        statuses = self._custom_statuses.setdefault(outcome.instance.instance_id, [])
        if not statuses or statuses[-1] != value:
            statuses.append(value)

    def _on_activity(self, item: ActivityWorkItem, message: OrchestrationMessage) -> None:
        self._calls.append((item.instance_id, item))

    def _new_id(self) -> str:
        # Deterministic ids keep test runs reproducible.
        self._ids += 1
        return str(uuid.UUID(int=self._ids))

    def _new_instance_id(self) -> str:
        self._instances += 1
        return f"test-{self._instances:04d}"


def run_orchestration(
    app: Any,
    orchestrator: Any,
    input: Any = None,
    *,
    stubs: Mapping[str, Any] | None = None,
    events: Iterable[ExternalEvent | tuple[Any, ...] | Mapping[str, Any]] = (),
    timeout: timedelta = timedelta(days=3650),
) -> OrchestrationResult:
    """One-shot ``OrchestrationTestEnv(app).run(...)`` in a fresh environment."""
    return OrchestrationTestEnv(app).run(
        orchestrator, input, stubs=stubs, events=events, timeout=timeout
    )


# -- helpers ------------------------------------------------------------------------------------


def _named(stubs: Mapping[Any, Any]) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for key, value in stubs.items():
        if isinstance(key, str):
            named[key] = value
        else:  # a decorated activity: use its function name
            function = getattr(key, "_function", None)
            name = function.get_function_name() if function is not None else None
            named[str(name or getattr(key, "__name__", key))] = value
    return named


def _orchestrator_handle(orchestrator: Any) -> Any:
    """The registered handler behind a decorated function (a ``FunctionBuilder``), if any."""
    function = getattr(orchestrator, "_function", None)
    if function is not None:
        return getattr(function, "_func", None)
    if hasattr(orchestrator, "orchestrator_function"):
        return orchestrator
    return None


def _as_event(event: ExternalEvent | tuple[Any, ...] | Mapping[str, Any]) -> ExternalEvent:
    if isinstance(event, ExternalEvent):
        return event
    if isinstance(event, tuple):
        if not 1 <= len(event) <= 3:
            raise DurableError(f"an event tuple is (name, data[, at]), got {event!r}")
        return ExternalEvent(
            name=str(event[0]),
            data=event[1] if len(event) > 1 else None,
            at=event[2] if len(event) > 2 else None,
        )
    if isinstance(event, Mapping):
        return ExternalEvent(
            name=str(event["name"]),
            data=event.get("data"),
            at=event.get("at"),
            instance_id=event.get("instance_id"),
        )
    raise DurableError(f"not an external event: {event!r}")


def _entity_parts(entity: Any) -> tuple[str, str]:
    if isinstance(entity, tuple) and len(entity) == 2:
        return str(entity[0]), str(entity[1])
    name, key = getattr(entity, "name", None), getattr(entity, "key", None)
    if name is None or key is None:
        raise DurableError(f"expected an EntityId or a (name, key) tuple, got {entity!r}")
    return str(name), str(key)


def _decode_input(raw: str | None) -> Any:
    value = parse_json_text(raw)
    return decode_activity_input(value) if isinstance(value, str) else value


def _activity_calls(history: list[dict[str, Any]]) -> list[ActivityCall]:
    scheduled: dict[int, dict[str, Any]] = {}
    ends: dict[int, dict[str, Any]] = {}
    for event in history:
        kind = event.get("EventType")
        if kind == EventType.TaskScheduled:
            scheduled[int(event.get("EventId", -1))] = event
        elif kind in (EventType.TaskCompleted, EventType.TaskFailed):
            ends[int(event.get("TaskScheduledId", -1))] = event
    calls: list[ActivityCall] = []
    for task_id, event in scheduled.items():
        end = ends.get(task_id)
        output: Any = None
        error: str | None = None
        if end is not None and end.get("EventType") == EventType.TaskCompleted:
            result = end.get("Result")
            output = None if result is None else decode_activity_input(str(result))
        elif end is not None:
            error = str(end.get("Reason"))
        raw_input = event.get("Input")
        calls.append(
            ActivityCall(
                name=str(event.get("Name")),
                input=None if raw_input is None else decode_activity_input(str(raw_input)),
                task_id=task_id,
                scheduled_at=event.get("Timestamp"),
                output=output,
                error=error,
                completed=end is not None,
            )
        )
    return calls


__all__ = [
    "DEFAULT_START",
    "ActivityCall",
    "ExternalEvent",
    "OrchestrationResult",
    "OrchestrationTestEnv",
    "run_orchestration",
]
