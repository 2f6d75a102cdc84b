"""The orchestration context: the API orchestrator code calls, and its task bookkeeping.

Built from the orchestration trigger payload (its keys are the constructor's parameter
names). History stays as the host's plain dicts; ``histories`` builds
:class:`~durable_functions.history.HistoryEvent` objects only when read.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_OID, NAMESPACE_URL, UUID, uuid5

from durable_functions._decoding import loads
from durable_functions._function_refs import resolve_activity, resolve_name
from durable_functions._nondeterminism import Descriptor, nondeterminism_error, recorded_descriptor
from durable_functions._protocol import parse_timespan
from durable_functions._readonly import ReadOnly, ReadWrite
from durable_functions.actions import (
    Action,
    CallActivityAction,
    CallActivityWithRetryAction,
    CallEntityAction,
    CallHttpAction,
    CallSubOrchestratorAction,
    CallSubOrchestratorWithRetryAction,
    ContinueAsNewAction,
    CreateTimerAction,
    ReplaySchema,
    SignalEntityAction,
    WaitForExternalEventAction,
)
from durable_functions.constants import DATETIME_STRING_FORMAT, ORCHESTRATION_TRIGGER
from durable_functions.entity import EntityId
from durable_functions.errors import (
    NonDeterminismError,
    OrchestratorUsageError,
    PayloadError,
    SerializationError,
)
from durable_functions.history import HistoryEvent, HistoryEventType, parse_timestamp
from durable_functions.options import DurableHttpRequest, RetryOptions, TokenSource
from durable_functions.tasks import (
    AtomicTask,
    LongTimerTask,
    RetryAbleTask,
    TaskBase,
    TaskState,
    TimerTask,
    WhenAllTask,
    WhenAnyTask,
)

__all__ = ["DurableOrchestrationContext", "FunctionContext"]

_ORCHESTRATOR_STARTED = int(HistoryEventType.ORCHESTRATOR_STARTED)
_EXECUTION_STARTED = int(HistoryEventType.EXECUTION_STARTED)
_TASK_SCHEDULED = int(HistoryEventType.TASK_SCHEDULED)
_RUNNING = TaskState.RUNNING
_UUID_NAMESPACE = uuid5(NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")


class FunctionContext:
    """Payload keys the orchestration context does not use, as attributes."""

    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"The trigger payload has no field {name!r}")


def _negotiate_schema(upper: Any, upper_new: Any) -> ReplaySchema:
    try:
        schema = ReplaySchema(upper)
    except ValueError:
        raise PayloadError(
            f"Unsupported upperSchemaVersion {upper!r}: expected 0, 1 or 2"
        ) from None
    if isinstance(upper_new, int) and upper_new > schema.value:
        known = [member.value for member in ReplaySchema]
        schema = ReplaySchema(upper_new if upper_new in known else max(known))
    return schema


class DurableOrchestrationContext:
    """What an orchestrator function receives: schedules tasks, reads input, time and ids.

    Example::

        def orchestrator(context: df.DurableOrchestrationContext):
            city = context.get_input()
            greeting = yield context.call_activity("hello", city)
            return greeting
    """

    # Parameter names are the payload's JSON keys.
    def __init__(
        self,
        history: list[dict[str, Any]],
        instanceId: str,
        isReplaying: bool,
        parentInstanceId: str | None,
        input: Any = None,
        upperSchemaVersion: int = 0,
        maximumShortTimerDuration: str | None = None,
        longRunningTimerIntervalDuration: str | None = None,
        upperSchemaVersionNew: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(history, list):
            raise PayloadError(
                f"The payload's 'history' must be a list of events, got {type(history).__name__}"
            )
        self._history: list[dict[str, Any]] = history
        self._histories: list[HistoryEvent] | None = None
        self._instance_id = instanceId
        self._is_replaying = isReplaying
        self._parent_instance_id = parentInstanceId
        self._maximum_short_timer_duration: timedelta | None = None
        if maximumShortTimerDuration is not None:
            self._maximum_short_timer_duration = parse_timespan(maximumShortTimerDuration)
        self._long_timer_interval_duration: timedelta | None = None
        if longRunningTimerIntervalDuration is not None:
            self._long_timer_interval_duration = parse_timespan(longRunningTimerIntervalDuration)
        self._custom_status: Any = None
        self._new_uuid_counter = 0
        self._continue_as_new_flag = False
        self._decision_started_index = self._first_index(_ORCHESTRATOR_STARTED)
        if self._decision_started_index < 0:
            raise PayloadError(
                "The orchestration history has no OrchestratorStarted event, so there is no "
                "orchestration time to start from"
            )
        self._current_utc_datetime: datetime = parse_timestamp(
            self._event_field(history[self._decision_started_index], "Timestamp")
        )
        self._function_context = FunctionContext(**kwargs)
        self._sequence_number = 0
        self._replay_schema = _negotiate_schema(upperSchemaVersion, upperSchemaVersionNew)
        self._is_v1 = self._replay_schema is ReplaySchema.V1
        self._action_payload_v1: list[list[Action]] = []
        self._action_payload_v2: list[Action] = []
        if isinstance(input, dict):
            input = json.dumps(input)
        self._input: Any = input
        self._input_expected_type: Any = None
        started = self._first_index(_EXECUTION_STARTED)
        self._version: str | None = history[started].get("Version") if started >= 0 else None
        # Task bookkeeping (read by the replay core).
        self.open_tasks: dict[int | str, TaskBase] = {}
        self.deferred_tasks: dict[int | str, tuple[dict[str, Any], int]] = {}
        self._event_waiters: dict[str, list[TaskBase]] = {}
        self._buffered_events: dict[str, deque[dict[str, Any]]] = {}
        self._processing_new_events = False
        self._nd_recorded: dict[int, tuple[dict[str, Any], int]] = {}
        self._nd_scheduled: dict[int, Descriptor] = {}
        self._nd_error: NonDeterminismError | None = None
        self._complete: Any = None  # set by the replay core: applies a completion event

    def _first_index(self, event_type: int) -> int:
        for index, event in enumerate(self._history):
            if isinstance(event, dict) and event.get("EventType") == event_type:
                return index
        return -1

    @staticmethod
    def _event_field(event: dict[str, Any], key: str) -> Any:
        try:
            return event[key]
        except KeyError:
            raise PayloadError(f"History event {event!r} has no {key!r} field") from None

    @classmethod
    def from_json(cls, json_string: str) -> DurableOrchestrationContext:
        """Build from the orchestration trigger payload text.

        Raises:
            PayloadError: the text is not a JSON object with the required keys.
        """
        try:
            payload = json.loads(json_string)
        except (TypeError, ValueError) as exc:
            raise PayloadError(f"The orchestration trigger payload is not JSON: {exc}") from None
        return cls.from_dict(payload)

    @classmethod
    def from_dict(cls, payload: Any) -> DurableOrchestrationContext:
        """Build from the already-parsed orchestration trigger payload.

        Raises:
            PayloadError: required keys are missing.
        """
        if not isinstance(payload, dict):
            raise PayloadError(
                f"The orchestration trigger payload must be a JSON object, got "
                f"{type(payload).__name__}"
            )
        missing = [
            key
            for key in ("history", "instanceId", "isReplaying", "parentInstanceId")
            if key not in payload
        ]
        if missing:
            raise PayloadError(
                f"The orchestration trigger payload lacks {', '.join(map(repr, missing))}"
            )
        return cls(**payload)

    # ------------------------------------------------------------------ properties

    @property
    def histories(self) -> list[HistoryEvent]:
        """The history events of this instance (built on first read)."""
        if self._histories is None:
            self._histories = [HistoryEvent.from_dict(event) for event in self._history]
        return self._histories

    @property
    def decision_started_event(self) -> HistoryEvent:
        """The first OrchestratorStarted event (whose time starts the clock)."""
        return HistoryEvent.from_dict(self._history[self._decision_started_index])

    instance_id = ReadOnly[str]("_instance_id", "The id of this orchestration instance.")
    parent_instance_id = ReadOnly[str | None](
        "_parent_instance_id", "The id of the parent orchestration, for a sub-orchestration."
    )
    is_replaying = ReadOnly[bool](
        "_is_replaying",
        "Whether the code is re-running past decisions (e.g. to skip duplicate logging).",
    )

    def _set_is_replaying(self, is_replaying: bool) -> None:
        self._is_replaying = is_replaying

    current_utc_datetime = ReadWrite[datetime](
        "_current_utc_datetime",
        "The deterministic current time: the start of the episode that resumed the code.",
    )

    custom_status = ReadOnly[Any](
        "_custom_status", "The last value given to :meth:`set_custom_status`."
    )
    function_context = ReadOnly[FunctionContext](
        "_function_context", "Payload fields the orchestration does not use, as attributes."
    )
    will_continue_as_new = ReadOnly[bool](
        "_continue_as_new_flag", "Whether :meth:`continue_as_new` was called."
    )
    version = ReadOnly[str | None](
        "_version", "The version the instance was created with (``Version`` of ExecutionStarted)."
    )

    # ------------------------------------------------------------------ input, ids, status

    def get_input(self, expected_type: type | None = None) -> Any:
        """The orchestration input, decoded (optionally into ``expected_type``).

        Returns ``None`` when there is no input. Text that is not JSON is returned as is.
        """
        raw = self._input
        if raw is None or raw == "":
            return None
        resolved = expected_type or self._input_expected_type
        if not isinstance(raw, str):
            raw = json.dumps(raw)
        try:
            return loads(raw, resolved)
        except SerializationError:
            try:
                json.loads(raw)
            except ValueError:
                return raw  # plain text input, e.g. started with body "hello"
            raise

    def set_custom_status(self, status: Any) -> None:
        """Publish a value that status queries return while the orchestration runs."""
        self._custom_status = status

    def new_uuid(self) -> str:
        """A replay-safe UUID (v5 over instance id, current time and a counter)."""
        name = (
            f"{self._instance_id}_{self._current_utc_datetime.strftime(DATETIME_STRING_FORMAT)}"
            f"_{self._new_uuid_counter}"
        )
        self._new_uuid_counter += 1
        return str(uuid5(_UUID_NAMESPACE, name))

    def new_guid(self) -> UUID:
        """A replay-safe UUID object (the older variant of :meth:`new_uuid`)."""
        name = f"{self._instance_id}_{self._current_utc_datetime}_{self._new_uuid_counter}"
        self._new_uuid_counter += 1
        return uuid5(NAMESPACE_URL, name)

    # ------------------------------------------------------------------ scheduling API

    replay_schema = ReadOnly[ReplaySchema](
        "_replay_schema", "The replay schema negotiated with the host."
    )

    @property
    def long_timer_limits(self) -> tuple[timedelta, timedelta]:
        """(longest single timer, interval of a long timer's chain); zero when unlimited."""
        return (
            self._maximum_short_timer_duration or timedelta(0),
            self._long_timer_interval_duration or timedelta(0),
        )

    def generate_task(
        self,
        action: Action,
        retry_options: RetryOptions | None = None,
        id_: int | str | None = None,
        parent: TaskBase | None = None,
        task_constructor: type[AtomicTask] = AtomicTask,
        descriptor: tuple[str, str | None, str | None] | None = None,
    ) -> TaskBase:
        """A new task for ``action`` (wrapped in a retrying task with ``retry_options``)."""
        task: TaskBase = task_constructor(id_, [action] if self._is_v1 else action)
        task.parent = parent  # type: ignore[assignment]
        if descriptor is not None:
            task._descriptor = descriptor
        if retry_options is not None:
            task = RetryAbleTask(task, retry_options, self)
        return task

    def call_activity(
        self, name: Any, input_: Any = None, expected_type: type | None = None
    ) -> TaskBase:
        """Schedule an activity; the task's value is its return value.

        ``name`` is the activity's name or, in the v2 programming model, the decorated
        activity function (its return annotation then decodes the result).
        """
        function_name, discovered = resolve_activity(name, "call_activity")
        action = CallActivityAction(function_name, input_)
        task = self.generate_task(action, descriptor=("activity", function_name, None))
        task._expected_output_type = expected_type or discovered
        return task

    def call_activity_with_retry(
        self,
        name: Any,
        retry_options: RetryOptions,
        input_: Any = None,
        expected_type: type | None = None,
    ) -> TaskBase:
        """Schedule an activity that the host retries on failure per ``retry_options``."""
        function_name, discovered = resolve_activity(name, "call_activity_with_retry")
        action = CallActivityWithRetryAction(function_name, retry_options, input_)
        task = self.generate_task(
            action, retry_options, descriptor=("activity", function_name, None)
        )
        task._expected_output_type = expected_type or discovered
        return task

    def call_sub_orchestrator(
        self,
        name: Any,
        input_: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
        expected_type: type | None = None,
    ) -> TaskBase:
        """Start a sub-orchestration; the task's value is its output."""
        function_name = resolve_name(name, ORCHESTRATION_TRIGGER, "call_sub_orchestrator")
        action = CallSubOrchestratorAction(function_name, input_, instance_id, version)
        task = self.generate_task(action, descriptor=("sub-orchestration", function_name, None))
        task._expected_output_type = expected_type
        return task

    def call_sub_orchestrator_with_retry(
        self,
        name: Any,
        retry_options: RetryOptions,
        input_: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
        expected_type: type | None = None,
    ) -> TaskBase:
        """Start a sub-orchestration that the host retries on failure per ``retry_options``."""
        function_name = resolve_name(
            name, ORCHESTRATION_TRIGGER, "call_sub_orchestrator_with_retry"
        )
        action = CallSubOrchestratorWithRetryAction(
            function_name, retry_options, input_, instance_id, version
        )
        task = self.generate_task(
            action, retry_options, descriptor=("sub-orchestration", function_name, None)
        )
        task._expected_output_type = expected_type
        return task

    def call_http(
        self,
        method: str,
        uri: str,
        content: Any = None,
        headers: dict[str, str] | None = None,
        token_source: TokenSource | None = None,
        is_raw_str: bool = False,
    ) -> TaskBase:
        """Have the host make an HTTP request; the value is ``{statusCode, headers, content}``.

        ``content`` is JSON-encoded (so a ``str`` goes out quoted) unless ``is_raw_str``.

        Raises:
            TypeError: ``is_raw_str`` is set but ``content`` is not a ``str``.
        """
        if is_raw_str and not isinstance(content, str):
            raise TypeError(
                "Invalid use of 'is_raw_str' parameter: 'is_raw_str' is set to 'True' but "
                "'content' is not an instance of type 'str'. Either set 'is_raw_str' to "
                "'False', or ensure your 'content' is of type 'str'."
            )
        json_content: str | None = None
        if content is not None:
            json_content = content if is_raw_str else json.dumps(content)
        request = DurableHttpRequest(method, uri, json_content, headers, token_source)
        return self.generate_task(CallHttpAction(request), descriptor=("http", None, None))

    def call_entity(
        self,
        entityId: EntityId,
        operationName: str,
        operationInput: Any = None,
        expected_type: type | None = None,
    ) -> TaskBase:
        """Call an entity operation; the value is the operation's result.

        A failed operation raises :class:`~durable_functions.errors.TaskFailedError`.
        """
        action = CallEntityAction(entityId, operationName, operationInput)
        task = self.generate_task(action, descriptor=("entity", operationName, action.instance_id))
        task._expected_output_type = expected_type
        task._is_entity_call = True  # type: ignore[attr-defined]
        return task

    def signal_entity(
        self, entityId: EntityId, operationName: str, operationInput: Any = None
    ) -> TaskBase:
        """Send an entity operation without waiting for it (sent at call time).

        The returned task is already complete: yielding it resumes at once.
        """
        action = SignalEntityAction(entityId, operationName, operationInput)
        task = self.generate_task(action)
        task.id = self._sequence_number
        self._record_fire_and_forget_action(action, ("entity", operationName, action.instance_id))
        task.is_played = self._is_replaying
        task._set_is_scheduled(True)
        task.state = TaskState.SUCCEEDED
        return task

    def create_timer(self, fire_at: datetime) -> TimerTask | LongTimerTask:
        """A task that completes at ``fire_at`` (naive values are taken as UTC).

        With backends that limit timer length, long timers are split into a chain of
        shorter ones, transparently.
        """
        action = CreateTimerAction(fire_at)
        short_max = self._maximum_short_timer_duration
        if (
            self._replay_schema is ReplaySchema.V3
            and short_max
            and self._long_timer_interval_duration
            and action.fire_at > self._current_utc_datetime + short_max
        ):
            return LongTimerTask(None, action, self)
        task = self.generate_task(action, task_constructor=TimerTask)
        assert isinstance(task, TimerTask)
        return task

    def wait_for_external_event(self, name: str, expected_type: type | None = None) -> TaskBase:
        """A task that completes when an event called ``name`` is raised to this instance.

        Each raised event is delivered once: to the oldest waiting task, or, if none is
        waiting, to the next task that waits for that name (first in, first out).
        """
        action = WaitForExternalEventAction(name)
        task = self.generate_task(action, id_=name)
        task._expected_output_type = expected_type
        return task

    def task_all(self, activities: Iterable[TaskBase]) -> TaskBase:
        """A task whose value is the list of the given tasks' values (first failure raises)."""
        return WhenAllTask(self._task_list(activities, "task_all"), self._replay_schema)

    def task_any(self, activities: Iterable[TaskBase]) -> TaskBase:
        """A task whose value is the first of the given tasks to complete (the Task object)."""
        return WhenAnyTask(self._task_list(activities, "task_any"), self._replay_schema)

    @staticmethod
    def _task_list(activities: Iterable[TaskBase], api: str) -> list[TaskBase]:
        tasks = activities if isinstance(activities, list) else list(activities)
        for task in tasks:
            if not isinstance(task, TaskBase):
                raise OrchestratorUsageError(
                    f"{api} expects tasks from the context (call_activity, create_timer, ...), "
                    f"got {type(task).__name__}"
                )
        return tasks

    def continue_as_new(self, input_: Any) -> None:
        """Restart this orchestration with ``input_`` once the current episode ends."""
        self._record_fire_and_forget_action(
            ContinueAsNewAction(input_), ("continue-as-new", None, None)
        )
        self._continue_as_new_flag = True

    # ------------------------------------------------------------------ bookkeeping

    def _record_fire_and_forget_action(
        self, action: Action, descriptor: tuple[str, str | None, str | None] | None = None
    ) -> None:
        self.add_to_actions([action] if self._is_v1 else action)
        if descriptor is not None and not self._processing_new_events:
            self._check_determinism(self._sequence_number, descriptor)
        self._sequence_number += 1

    @property
    def _actions(self) -> list[list[Action]]:
        if self._is_v1:
            return self._action_payload_v1
        return [self._action_payload_v2]

    def add_to_actions(self, action_repr: list[Action] | Action) -> None:
        """Send ``action_repr`` to the host with this episode's actions."""
        if self._continue_as_new_flag:
            return  # nothing is sent after continue_as_new
        if self._is_v1:
            if isinstance(action_repr, list):
                self._action_payload_v1.append(action_repr)
                return
        elif isinstance(action_repr, Action):
            self._action_payload_v2.append(action_repr)
            return
        raise TypeError(
            f"Actions of type {type(action_repr).__name__} do not fit replay schema "
            f"{self._replay_schema.name}"
        )

    def add_to_open_tasks(self, task: TaskBase) -> None:
        """Give newly scheduled atomic tasks their id and register them for completions."""
        if task._is_scheduled:
            return
        if not isinstance(task, AtomicTask):
            for child in task.children:  # type: ignore[attr-defined]
                self.add_to_open_tasks(child)
            return
        task_id = task.id
        if task_id is None:
            task_id = task.id = self._sequence_number
            self._sequence_number += 1
            self.open_tasks[task_id] = task
            if not self._processing_new_events and task._descriptor is not None:
                self._check_determinism(task_id, task._descriptor)
            deferred = self.deferred_tasks.pop(task_id, None)
            if deferred is not None:
                del self.open_tasks[task_id]
                self._complete(task, deferred[0], deferred[1])
        elif isinstance(task_id, str):
            self._register_waiter(task, task_id)

    def _register_waiter(self, task: TaskBase, name: str) -> None:
        buffered = self._buffered_events.get(name)
        if buffered:
            event = buffered.popleft()
            if not buffered:
                del self._buffered_events[name]
            self._complete(task, event, HistoryEventType.EVENT_RAISED)
            return
        self._event_waiters.setdefault(name, []).append(task)

    def _take_waiter(self, name: str) -> TaskBase | None:
        """The oldest waiter still awaited by the code, else the oldest abandoned one."""
        waiters = self._event_waiters.get(name)
        if not waiters:
            return None
        chosen = 0
        for index, task in enumerate(waiters):
            if not _is_abandoned(task):
                chosen = index
                break
        task = waiters.pop(chosen)
        if not waiters:
            del self._event_waiters[name]
        return task

    def _buffer_event(self, name: str, event: dict[str, Any]) -> None:
        self._buffered_events.setdefault(name, deque()).append(event)

    # ------------------------------------------------------------------ non-determinism

    def _check_determinism(self, task_id: int, actual: Descriptor) -> None:
        recorded = self._nd_recorded.pop(task_id, None)
        if recorded is None:
            self._nd_scheduled[task_id] = actual
        elif not _matches(recorded_descriptor(*recorded), actual):
            self._fail_nondeterminism(task_id, recorded, actual)

    def _record_history_schedule(self, event: dict[str, Any], event_type: int) -> None:
        """A scheduling event of a past episode: compare with what the code scheduled."""
        event_id = event.get("EventId")
        if type(event_id) is not int:
            return
        actual = self._nd_scheduled.pop(event_id, None)
        if actual is None:
            self._nd_recorded[event_id] = (event, event_type)
        elif (
            actual[0] == "activity"
            and event_type == _TASK_SCHEDULED
            and actual[1] == event.get("Name")
        ):
            return  # the common case, decided without building descriptors
        elif not _matches(recorded_descriptor(event, event_type), actual):
            self._fail_nondeterminism(event_id, (event, event_type), actual)

    def _fail_nondeterminism(
        self,
        task_id: int,
        recorded: tuple[dict[str, Any], int],
        actual: Descriptor | None,
    ) -> None:
        if self._nd_error is None:
            event, event_type = recorded
            self._nd_error = nondeterminism_error(task_id, event, actual, event_type=event_type)

    def _check_missing_tasks(self) -> None:
        """Every scheduling event of past episodes must have been scheduled by the code."""
        if self._nd_recorded and self._nd_error is None:
            first = min(self._nd_recorded)
            self._fail_nondeterminism(first, self._nd_recorded[first], None)


def _is_abandoned(task: TaskBase) -> bool:
    parent = task.parent
    while parent is not None:
        if parent.state is not _RUNNING:
            return True
        parent = parent.parent
    return False


def _same_name(recorded: str | None, actual: str | None) -> bool:
    if recorded is None or actual is None:
        return True
    return recorded.casefold() == actual.casefold()


def _matches(recorded: Descriptor, actual: Descriptor) -> bool:
    kind, name, target = recorded
    if actual[0] == "http":
        return kind == "activity"  # the host runs HTTP calls as a built-in activity
    if kind != actual[0]:
        return False
    if kind == "entity":
        return (target is None or actual[2] is None or target == actual[2]) and (
            name is None or actual[1] is None or name == actual[1]
        )
    return _same_name(name, actual[1])
