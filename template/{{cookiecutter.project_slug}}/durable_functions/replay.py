"""The replay core: run an orchestrator generator against its history, purely.

One pass over the history (plain dicts): each event type has a small handler;
completion events resolve tasks by key and resume the generator, which schedules new
tasks. The result is the orchestrator state the host expects (``OrchestratorState``
JSON), or a failure in the host's format. An ``async def`` orchestrator's coroutine is
driven the same way (``send``/``throw``); ``_async`` guards what it may await.

Entry points:

* :func:`replay` - for tools (replayer, tests): never raises for orchestrator failures,
  returns a :class:`ReplayResult`.
* :class:`Orchestrator` - the Functions handler (``Orchestrator.create(fn)``), same
  contract as the reference SDK: returns the state JSON or raises.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass
from types import AsyncGeneratorType, CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any

from durable_functions._action_json import ActionJson, plain
from durable_functions._decoding import decode_entity_response, decode_result, trigger_body
from durable_functions._protocol import OUT_OF_PROC_MARKER
from durable_functions._readonly import ReadOnly
from durable_functions.actions import Action, ReplaySchema
from durable_functions.context import DurableOrchestrationContext
from durable_functions.errors import (
    NonDeterminismError,
    OrchestratorExecutionError,
    OrchestratorUsageError,
    PayloadError,
    SerializationError,
    TaskFailedError,
)
from durable_functions.history import HistoryEventType, parse_timestamp
from durable_functions.serialization import df_dumps
from durable_functions.tasks import AtomicTask, CompoundTask, TaskBase, TaskState

if TYPE_CHECKING:
    from durable_functions._async import AwaitGuard

__all__ = ["OrchestrationSession", "Orchestrator", "OrchestratorState", "ReplayResult", "replay"]

_CHECK_SESSIONS = os.environ.get("DURABLE_SESSION_CHECK", "") not in ("", "0")
"""Differential test mode: every session episode is also computed by a full replay."""
_RUNNING = TaskState.RUNNING
_SUCCEEDED = TaskState.SUCCEEDED

_T = HistoryEventType
_SCHEDULING_EVENTS = frozenset(
    {_T.TASK_SCHEDULED, _T.SUB_ORCHESTRATION_INSTANCE_CREATED, _T.TIMER_CREATED, _T.EVENT_SENT}
)


class OrchestratorState:
    """The orchestrator's reply to the host for one episode."""

    def __init__(
        self,
        is_done: bool,
        actions: list[list[Action]],
        output: Any,
        replay_schema: ReplaySchema | int,
        error: str | None = None,
        custom_status: Any = None,
    ) -> None:
        self._is_done = is_done
        self._actions = actions
        self._output = output
        self._error = error
        self._custom_status = custom_status
        # The reference's own tests pass the schema's number; take it as the schema.
        self._replay_schema = ReplaySchema(replay_schema)

    actions = ReadOnly[list[list[Action]]](
        "_actions", "Every action scheduled so far, grouped per schema (§ actions shape)."
    )
    is_done = ReadOnly[bool]("_is_done", "Whether the orchestrator returned or continued as new.")
    output = ReadOnly[Any]("_output", "The return value, once done.")
    error = ReadOnly[str | None]("_error", "The failure text, if the orchestrator failed.")
    custom_status = ReadOnly[Any]("_custom_status", "The custom status (sent only when truthy).")

    @property
    def schema_version(self) -> int:
        """The negotiated replay schema number."""
        return int(self._replay_schema.value)

    def to_json(self) -> dict[str, Any]:
        """The wire dict, keys in the host's expected order."""
        json_dict: dict[str, Any] = {"isDone": self._is_done}
        if self._replay_schema is not ReplaySchema.V1:
            json_dict["schemaVersion"] = self._replay_schema.value
        json_dict["actions"] = [[action.to_json() for action in group] for group in self._actions]
        if self._output is not None:
            json_dict["output"] = self._output
        if self._error:
            json_dict["error"] = self._error
        if self._custom_status:
            json_dict["customStatus"] = self._custom_status
        return json_dict

    def to_json_string(self) -> str:
        """The JSON text the host receives."""
        json_dict = self.to_json()
        try:
            return json.dumps(json_dict)  # plain data: the common, fast case
        except (TypeError, ValueError):
            return df_dumps(json_dict)  # custom objects in actions or custom status


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayResult:
    """The outcome of one replay (one orchestrator episode)."""

    state: OrchestratorState
    """The reply for the host."""
    error: str | None
    """The failure text (``state.error``), or ``None``."""
    exception: BaseException | None
    """What the orchestrator raised (or the replay detected), or ``None``."""
    non_determinism: NonDeterminismError | None
    """Set when the code no longer matches its history."""
    context: DurableOrchestrationContext
    """The context the code ran with (clock, custom status, tasks)."""
    labelled: bool
    """Whether a failure is reported in the host's ``$OutOfProcData$`` format."""
    encoded: str | None = None
    """``state`` as JSON text, once built (a session's episode builds it only on demand)."""

    @property
    def state_json(self) -> str:
        """``state`` as the JSON text the host receives."""
        if self.encoded is None:
            object.__setattr__(self, "encoded", self.state.to_json_string())
        assert self.encoded is not None
        return self.encoded

    is_done = ReadOnly[bool](
        "state.is_done", "Whether the orchestrator returned or continued as new."
    )
    output = ReadOnly[Any]("state.output", "The orchestrator's return value, if done.")

    @property
    def actions(self) -> list[list[dict[str, Any]]]:
        """The actions as wire dicts."""
        return [[action.to_json() for action in group] for group in self.state.actions]

    def host_response(self) -> str:
        """What the Functions handler returns, or raises, for this result.

        Raises:
            OrchestratorExecutionError: the orchestrator failed; the message carries the
                ``$OutOfProcData$`` state for the host.
            BaseException: an unlabelled failure (e.g. a non-generator orchestrator
                raised), re-raised as is, as the reference SDK does.
        """
        exception = self.exception
        if exception is None:
            return self.state_json
        if not self.labelled:
            raise exception
        raise OrchestratorExecutionError(
            f"{exception}{OUT_OF_PROC_MARKER}{self.state_json}",
            error=self.error or "",
            state_json=self.state_json,
        ) from exception


OrchestratorFunction = Callable[[DurableOrchestrationContext], Any]


def replay(
    fn: OrchestratorFunction, payload: str | bytes | dict[str, Any] | DurableOrchestrationContext
) -> ReplayResult:
    """Run ``fn`` against an orchestration trigger payload and return the outcome.

    Orchestrator failures (including non-determinism) are reported in the result, not
    raised.

    Raises:
        PayloadError: the payload is malformed.
    """
    if isinstance(payload, DurableOrchestrationContext):
        context = payload
    elif isinstance(payload, dict):
        context = DurableOrchestrationContext.from_dict(payload)
    else:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8")
        context = DurableOrchestrationContext.from_json(payload)
    return _Replayer(context, fn).run()


class _Replayer:
    """Drives one orchestrator generator through one history."""

    def __init__(self, context: DurableOrchestrationContext, fn: OrchestratorFunction) -> None:
        self.context = context
        self.fn = fn
        self.generator: Generator[Any, Any, Any] | Coroutine[Any, Any, Any] | None = None
        self.guard: AwaitGuard | None = None
        """Set for an ``async def`` orchestrator (see ``_async``)."""
        self.current: TaskBase | None = None
        self.output: Any = None
        self.exception: BaseException | None = None
        self.returned = False
        self.labelled = True
        self.done = False
        context._complete = self._apply
        self._handlers: dict[int, Callable[[dict[str, Any], int], None]] = {
            _T.ORCHESTRATOR_STARTED: self._on_orchestrator_started,
            _T.EXECUTION_STARTED: self._on_execution_started,
            _T.CONTINUE_AS_NEW: self._on_continue_as_new,
            _T.TASK_SCHEDULED: self._on_scheduled,
            _T.SUB_ORCHESTRATION_INSTANCE_CREATED: self._on_scheduled,
            _T.TIMER_CREATED: self._on_scheduled,
            _T.EVENT_SENT: self._on_event_sent,
            _T.TASK_COMPLETED: self._on_task_scheduled_id,
            _T.TASK_FAILED: self._on_task_scheduled_id,
            _T.SUB_ORCHESTRATION_INSTANCE_COMPLETED: self._on_task_scheduled_id,
            _T.SUB_ORCHESTRATION_INSTANCE_FAILED: self._on_task_scheduled_id,
            _T.TIMER_FIRED: self._on_timer_fired,
            _T.EVENT_RAISED: self._on_event_raised,
        }

    # ------------------------------------------------------------------ driver

    def run(self) -> ReplayResult:
        context = self.context
        history = context._history
        if len(history) < 2:
            raise PayloadError(
                f"The orchestration history has {len(history)} event(s); at least "
                "OrchestratorStarted and ExecutionStarted are needed"
            )
        try:
            evaluated = self.fn(context)
        except Exception as exc:
            # Not a generator function: it raised while running (reported unlabelled).
            self.exception = exc
            self.labelled = False
            return self._result()
        if isinstance(evaluated, GeneratorType | CoroutineType):
            self.generator = evaluated
            if isinstance(evaluated, CoroutineType):
                from durable_functions._async import AwaitGuard

                self.guard = AwaitGuard()
            try:
                self._run_generator(history)
            except PayloadError:
                self._close_coroutine()
                raise
            except Exception as exc:  # an internal inconsistency: fail, never crash silently
                if self.exception is None:
                    self.exception = exc
        elif isinstance(evaluated, AsyncGeneratorType):
            self.exception = OrchestratorUsageError(
                "An async def orchestrator cannot also yield: await the tasks from the "
                "context instead (`result = await context.call_activity(...)`)"
            )
        elif not context._continue_as_new_flag:
            self.returned = True
            self.output = evaluated
        return self._result()

    def _run_generator(self, history: list[dict[str, Any]]) -> None:
        context = self.context
        new_start = len(history) - 1
        while new_start >= 0 and _event_type(history[new_start]) != _T.ORCHESTRATOR_STARTED:
            new_start -= 1
        placeholder = AtomicTask(-1, [])
        placeholder.state = _SUCCEEDED
        second = history[1]
        placeholder.is_played = (isinstance(second, dict) and bool(second.get("IsPlayed"))) or (
            new_start > 0
        )
        self.current = placeholder
        index = self._play(history, new_start)
        finished_early = context._nd_error is None and not context._processing_new_events
        if finished_early and (self.returned or context._continue_as_new_flag):
            self._check_rest_of_past(history, index + 1, new_start)
        if context._nd_error is not None:
            # The code is not the one that wrote this history: nothing it returned counts.
            self.exception = context._nd_error
            self.returned = False
            self.output = None

    def feed(
        self, events: Sequence[dict[str, Any]], encodable: Callable[[OrchestratorState], bool]
    ) -> ReplayResult:
        """Go on from where the last episode stopped, with the events history gained since.

        ``events`` are every event appended to history after the ones this replayer has
        seen (the host's records of the last episode's actions, then the new episode's
        messages); they are all new to the code, so nothing is replayed twice.
        ``encodable`` checks what the episode changed (see :meth:`_result`).
        """
        context = self.context
        context._history.extend(events)
        context._histories = None  # rebuilt from the longer history on the next read
        try:
            self._play(events, 0)
        except PayloadError:
            raise
        except Exception as exc:  # an internal inconsistency: fail, never crash silently
            if self.exception is None:
                self.exception = exc
        return self._result(encodable)

    @property
    def can_continue(self) -> bool:
        """Whether the code is still waiting inside a running generator (a session can go on)."""
        context = self.context
        return (
            self.generator is not None
            and not self.done
            and self.exception is None
            and context._nd_error is None
            and not context._continue_as_new_flag
        )

    def _play(self, events: Sequence[dict[str, Any]], new_start: int) -> int:
        """Hand each event to its handler until the code ends; returns the last index played.

        From ``new_start`` on the events are new: past tasks the code never scheduled
        are a non-determinism, found before the first new event is played.
        """
        context = self.context
        handlers = self._handlers
        index = -1
        for index, event in enumerate(events):
            if index >= new_start and not context._processing_new_events:
                context._processing_new_events = True
                context._check_missing_tasks()
                if context._nd_error is not None:
                    break
            try:
                event_type = event["EventType"]
            except (KeyError, TypeError):
                raise PayloadError(f"History event {event!r} has no EventType") from None
            handler = handlers.get(event_type)
            if handler is not None:
                handler(event, event_type)
                if self.done or context._nd_error is not None:
                    break
        return index

    def _check_rest_of_past(self, history: list[dict[str, Any]], start: int, stop: int) -> None:
        """The code finished early: past events it never reached must not schedule work."""
        context = self.context
        for event in history[start:stop]:
            event_type = event.get("EventType")
            if event_type in _SCHEDULING_EVENTS:
                context._record_history_schedule(event, event_type)
        context._check_missing_tasks()

    # ------------------------------------------------------------------ event handlers

    def _on_orchestrator_started(self, event: dict[str, Any], event_type: int) -> None:
        timestamp = parse_timestamp(self.context._event_field(event, "Timestamp"))
        if timestamp > self.context._current_utc_datetime:
            self.context._current_utc_datetime = timestamp

    def _on_execution_started(self, event: dict[str, Any], event_type: int) -> None:
        self._resume()

    def _on_continue_as_new(self, event: dict[str, Any], event_type: int) -> None:
        placeholder = AtomicTask(-1, [])
        placeholder.state = _SUCCEEDED
        self.current = placeholder
        self.output = None
        self.exception = None
        self.returned = False
        self.done = False

    def _on_scheduled(self, event: dict[str, Any], event_type: int) -> None:
        if not self.context._processing_new_events:
            self.context._record_history_schedule(event, event_type)

    def _on_event_sent(self, event: dict[str, Any], event_type: int) -> None:
        open_tasks = self.context.open_tasks
        key: Any = event.get("EventId")
        task = open_tasks.get(key)
        if task is not None and getattr(task, "_is_entity_call", False):
            # An entity call's response is raised under its request id, not its sequence id.
            try:
                request_id = json.loads(event["Input"])["id"]
            except (KeyError, TypeError, ValueError):
                raise PayloadError(
                    f"EventSent {key} for an entity call carries no request id"
                ) from None
            del open_tasks[key]
            open_tasks[request_id] = task
        self._on_scheduled(event, event_type)

    def _on_task_scheduled_id(self, event: dict[str, Any], event_type: int) -> None:
        self._complete_by_key(event.get("TaskScheduledId"), event, event_type)

    def _on_timer_fired(self, event: dict[str, Any], event_type: int) -> None:
        self._complete_by_key(event.get("TimerId"), event, event_type)

    def _complete_by_key(self, key: Any, event: dict[str, Any], event_type: int) -> None:
        context = self.context
        task = context.open_tasks.pop(key, None)
        if task is None:
            # Not scheduled (yet): applied if a task with this id is scheduled later.
            context.deferred_tasks[key] = (event, event_type)
        else:
            self._apply(task, event, event_type)
        self._resume()

    def _on_event_raised(self, event: dict[str, Any], event_type: int) -> None:
        context = self.context
        name = event.get("Name")
        task = context.open_tasks.pop(name, None) if isinstance(name, str) else None
        if task is None:
            task = context._take_waiter(name)  # type: ignore[arg-type]
        if task is None:
            context._buffer_event(name, event)  # type: ignore[arg-type]
        else:
            self._apply(task, event, event_type)
        self._resume()

    # ------------------------------------------------------------------ tasks

    def _apply(self, task: TaskBase, event: dict[str, Any], event_type: int) -> None:
        """Resolve ``task`` from its completion event."""
        is_error = False
        value: Any = None
        try:
            if (
                event_type == _T.TASK_COMPLETED
                or event_type == _T.SUB_ORCHESTRATION_INSTANCE_COMPLETED
            ):
                value = decode_result(event.get("Result"), task._expected_output_type)
            elif event_type == _T.EVENT_RAISED:
                if getattr(task, "_is_entity_call", False):
                    is_error, value = decode_entity_response(
                        event.get("Input"), task._expected_output_type
                    )
                else:
                    value = decode_result(event.get("Input"), task._expected_output_type)
            elif event_type != _T.TIMER_FIRED:
                is_error = True
                value = TaskFailedError.from_event(event)
        except (SerializationError, ValueError, TypeError) as exc:
            # The result cannot be decoded: the task fails, the code may catch it.
            is_error = True
            value = exc
        task.is_played = bool(event.get("IsPlayed")) or not self.context._processing_new_events
        task.set_value(is_error, value)

    def _resume(self) -> None:
        """Run the code on as far as completed tasks allow."""
        context = self.context
        current = self.current
        if current is None:
            return
        context._is_replaying = current.is_played
        if current.state is _RUNNING:
            return
        guard = self.guard
        if guard is None:
            self._step(current)
            return
        guard.enter()
        try:
            self._step(current)
        finally:
            guard.exit()

    def _step(self, current: TaskBase) -> None:
        """Send completed tasks' values into the code until it waits on a running task."""
        context = self.context
        generator = self.generator
        guard = self.guard
        assert generator is not None
        while True:
            try:
                if current.state is _SUCCEEDED:
                    new = generator.send(current.result)
                else:
                    new = generator.throw(current.result)
            except StopIteration as stop:
                if guard is not None and guard.misuse is not None:
                    self.exception = guard.misuse  # caught by the code: still a failure
                else:
                    self.returned = True
                    self.output = stop.value
                self._finish()
                return
            except Exception as exc:
                self.exception = exc if guard is None or guard.misuse is None else guard.misuse
                self._finish()
                return
            if guard is not None and (guard.misuse is not None or not isinstance(new, TaskBase)):
                self.exception = guard.misuse or guard.not_a_task(generator, new)
                self._finish()
                return
            if not isinstance(new, TaskBase):
                self.exception = OrchestratorUsageError(
                    f"The orchestrator yielded {type(new).__name__} {new!r}; yield tasks "
                    "created by the context (call_activity, create_timer, task_all, ...)"
                )
                self._finish()
                return
            if not new._is_scheduled:
                context.add_to_open_tasks(new)
                context.add_to_actions(new.action_repr)
                _mark_as_scheduled(new)
            self.current = new
            if context._continue_as_new_flag or context._nd_error is not None:
                self.done = True
            if new.state is _RUNNING:
                return
            current = new
            context._is_replaying = current.is_played

    def _finish(self) -> None:
        self.current = None
        self.done = True

    def _close_coroutine(self) -> None:
        """Close an async orchestrator's coroutine once replay stops driving it."""
        if self.guard is not None and isinstance(self.generator, CoroutineType):
            from durable_functions._async import close

            self.guard.enter()
            try:
                close(self.generator)
            finally:
                self.guard.exit()

    # ------------------------------------------------------------------ result

    def _result(self, encodable: Callable[[OrchestratorState], bool] | None = None) -> ReplayResult:
        """The episode's outcome, its state checked for JSON as the host will encode it.

        After a session's episode, ``encodable`` checks only what may have changed (the
        new actions, the output, the custom status): the whole state, and so the text,
        is built only if asked for or if that check fails.
        """
        context = self.context
        if self.guard is not None and not self.can_continue:
            self._close_coroutine()
        is_done = self.returned or context._continue_as_new_flag
        output = self.output
        state = self._state(is_done, output)
        state_json: str | None = None
        if encodable is None or not encodable(state):
            state, state_json = self._encoded(state, is_done, output)
        return ReplayResult(
            state=state,
            encoded=state_json,
            error=state.error,
            exception=self.exception,
            non_determinism=context._nd_error,
            context=context,
            labelled=self.labelled,
        )

    def _encoded(
        self, state: OrchestratorState, is_done: bool, output: Any
    ) -> tuple[OrchestratorState, str]:
        """The state as the host's JSON text; an output or custom status that cannot be
        encoded fails the orchestrator (and the custom status is dropped)."""
        context = self.context
        try:
            state_json = state.to_json_string()
        except (TypeError, ValueError):
            if output is not None:
                try:
                    json.dumps(output)
                except (TypeError, ValueError) as exc:
                    # The output must be plain JSON (the host stores it as the result).
                    self.exception = exc
                    output = None
            if self.exception is None:
                try:
                    df_dumps(context._custom_status)
                except (TypeError, ValueError) as exc:
                    self.exception = SerializationError(
                        f"The custom status cannot be serialized: {exc}"
                    )
            state = self._state(is_done, output, drop_custom_status=True)
            state_json = state.to_json_string()
        return state, state_json

    def _state(
        self, is_done: bool, output: Any, *, drop_custom_status: bool = False
    ) -> OrchestratorState:
        context = self.context
        error = None
        if self.exception is not None:
            error = str(self.exception) or str(type(self.exception))
        custom_status = context._custom_status
        if drop_custom_status:
            try:
                df_dumps(custom_status)
            except (TypeError, ValueError):
                custom_status = None
        return OrchestratorState(
            is_done=is_done,
            actions=context._actions,
            output=output,
            replay_schema=context._replay_schema,
            error=error,
            custom_status=custom_status,
        )


def _event_type(event: Any) -> Any:
    if not isinstance(event, dict):
        raise PayloadError(f"History event {event!r} is not a JSON object")
    return event.get("EventType")


def _mark_as_scheduled(task: TaskBase) -> None:
    if isinstance(task, CompoundTask):
        for child in task.children:
            _mark_as_scheduled(child)
    else:
        task._is_scheduled_flag = True


class OrchestrationSession:
    """One orchestration kept running in memory between its episodes.

    As the Durable extension's extended sessions and Temporal's sticky workflows do:
    the first episode replays the whole history; each later one feeds the same
    generator only the events history gained since (:meth:`advance`), so a chain of N
    activities costs O(N), not O(N²). Every result equals what a full replay of the
    whole history returns; with ``DURABLE_SESSION_CHECK=1`` in the environment each
    one is checked against a full replay (``AssertionError`` on any difference).
    Values still reach the code only through their JSON text (results, event data),
    exactly as in a full replay.
    """

    __slots__ = ("_fn", "_input_type", "_json", "_payload", "_replayer", "history_length", "result")

    def __init__(
        self, fn: OrchestratorFunction, payload: dict[str, Any], *, input_type: Any = None
    ) -> None:
        self._fn = fn
        self._input_type = input_type
        self._payload = {key: value for key, value in payload.items() if key != "history"}
        context = DurableOrchestrationContext.from_dict(payload)
        context._input_expected_type = input_type
        self._replayer = _Replayer(context, fn)
        self._json = ActionJson()
        self.result: ReplayResult = self._replayer.run()
        """The last episode's outcome."""
        self.history_length = len(context._history)
        """How many history events the code has seen: the next episode starts after them."""

    @property
    def alive(self) -> bool:
        """Whether the orchestrator still waits for more events (else the session is over)."""
        return self._replayer.can_continue

    def advance(self, events: Sequence[dict[str, Any]]) -> ReplayResult:
        """Run the next episode: ``events`` are all the events appended to history since.

        Raises:
            PayloadError: an event is malformed.
            RuntimeError: the session is over (check :attr:`alive` first).
        """
        if not self.alive:
            raise RuntimeError("this orchestration session has ended; replay the history")
        self.result = self._replayer.feed(events, self._json.encodable)
        self.history_length += len(events)
        if _CHECK_SESSIONS:
            self._check()
        return self.result

    def state_dict(self) -> dict[str, Any]:
        """The last episode's OrchestratorState as the host parses it, without the text.

        Equal to ``json.loads(self.result.state_json)``; the action dicts are kept from
        episode to episode, so this costs O(new actions) (see ``ActionJson``).
        """
        state = self.result.state
        json_dict: dict[str, Any] = {"isDone": state.is_done}
        if state.schema_version != ReplaySchema.V1.value:
            json_dict["schemaVersion"] = state.schema_version
        self._json.sync(state.actions)
        json_dict["actions"] = self._json.groups
        if state.output is not None:
            json_dict["output"] = plain(state.output)
        if state.error:
            json_dict["error"] = state.error
        if state.custom_status:
            json_dict["customStatus"] = plain(state.custom_status)
        return json_dict

    def _check(self) -> None:
        """Compare with a full replay of the whole history (the differential test mode)."""
        result = self.result
        context = DurableOrchestrationContext.from_dict(
            {**self._payload, "history": list(self._replayer.context._history)}
        )
        context._input_expected_type = self._input_type
        full = _Replayer(context, self._fn).run()
        ours = (result.state_json, str(result.exception), result.labelled)
        theirs = (full.state_json, str(full.exception), full.labelled)
        if ours == theirs and result.exception is None:
            ours = (json.dumps(self.state_dict()), "None", result.labelled)
            theirs = (json.dumps(json.loads(full.state_json)), "None", full.labelled)
        if ours != theirs:
            raise AssertionError(
                f"an orchestration session diverged from a full replay at history length "
                f"{self.history_length}:\n session: {ours}\n replay:  {theirs}"
            )


class Orchestrator:
    """The Functions handler of an orchestrator (v1 model: ``main = Orchestrator.create(fn)``)."""

    def __init__(self, activity_func: OrchestratorFunction) -> None:
        self.fn: OrchestratorFunction = activity_func
        self.task_orchestration_executor: ReplayResult | None = None
        self.durable_context: DurableOrchestrationContext | None = None

    def handle(self, context: DurableOrchestrationContext) -> str:
        """Replay ``context``'s history and return the orchestrator state JSON.

        Raises:
            OrchestratorExecutionError: the orchestrator failed (host wire format).
        """
        self.durable_context = context
        result = _Replayer(context, self.fn).run()
        self.task_orchestration_executor = result
        return result.host_response()

    @classmethod
    def create(cls, fn: OrchestratorFunction) -> Callable[[Any], str]:
        """Wrap ``fn`` into the handler the Functions worker calls.

        The handler accepts the worker's ``OrchestrationContext`` (its ``.body``) or the
        payload JSON text; ``handler.orchestrator_function`` is ``fn``.
        """

        def handle(context: Any) -> str:
            body = trigger_body(context)
            if isinstance(body, bytes):
                body = body.decode("utf-8")
            if isinstance(body, dict):
                durable_context = DurableOrchestrationContext.from_dict(body)
            else:
                durable_context = DurableOrchestrationContext.from_json(body)
            durable_context._input_expected_type = getattr(handle, "_df_input_type", None)
            return cls(fn).handle(durable_context)

        # The worker reads annotations as real types; postponed (string) annotations
        # would fail indexing, so leave `context` unannotated and give `return` a type.
        handle.__annotations__ = {"return": str}
        handle.orchestrator_function = fn  # type: ignore[attr-defined]

        def open_session(payload: dict[str, Any]) -> OrchestrationSession:
            """Run a first episode from a parsed payload, keeping the orchestration alive."""
            return OrchestrationSession(
                fn, payload, input_type=getattr(handle, "_df_input_type", None)
            )

        # Code that cannot be resumed where an episode stopped it (agent orchestrators, see
        # openai_agents) replays the whole history every episode: no session.
        if not getattr(fn, "_df_full_replay", False):
            handle.open_session = open_session  # type: ignore[attr-defined]
        return handle
