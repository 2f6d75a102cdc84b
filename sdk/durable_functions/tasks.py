"""Tasks: what orchestrator code yields, and how completions flow up to compound tasks.

A task is created by a context method and scheduled when first yielded or awaited
(directly or as a child of a ``task_all``/``task_any``): atomic tasks then get the next
sequence id and their action is sent to the host. The replay core resolves tasks from
history events; a resolved child notifies its parent (:meth:`TaskBase.propagate`).

Class names, attributes and methods are those of the reference SDK.
"""

from __future__ import annotations

import enum
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeAlias

from durable_functions.actions import (
    Action,
    CompoundAction,
    CreateTimerAction,
    NoOpAction,
    ReplaySchema,
    WhenAllAction,
    WhenAnyAction,
)
from durable_functions.options import RetryOptions

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

ActionRepr: TypeAlias = "list[Action] | Action"
"""A task's actions: a list under schema V1, one action (maybe compound) under V2/V3."""

TaskId: TypeAlias = "int | str | None"

_Descriptor: TypeAlias = "tuple[str, str | None, str | None]"
"""(kind, name, target) of what a task schedules; compared with history (non-determinism)."""


class TaskScheduler(Protocol):
    """What tasks need from the orchestration context to schedule more tasks themselves.

    Long timers and retries add tasks after they were yielded; depending on this
    protocol instead of the context keeps this module free of it.
    """

    @property
    def current_utc_datetime(self) -> datetime:
        """The deterministic current time."""
        ...

    @property
    def replay_schema(self) -> ReplaySchema:
        """The negotiated replay schema."""
        ...

    @property
    def long_timer_limits(self) -> tuple[timedelta, timedelta]:
        """(longest single timer, interval of a long timer's chain); zero when unlimited."""
        ...

    def generate_task(
        self,
        action: Action,
        *,
        parent: TaskBase | None = None,
        descriptor: _Descriptor | None = None,
    ) -> TaskBase:
        """A new atomic task for ``action``, not yet scheduled."""
        ...

    def add_to_open_tasks(self, task: TaskBase) -> None:
        """Schedule ``task``: give it its sequence id and await its completion."""
        ...

    def add_to_actions(self, action_repr: ActionRepr) -> None:
        """Send ``action_repr`` to the host with this episode's actions."""
        ...


class TaskState(enum.Enum):
    """Lifecycle of a task."""

    RUNNING = 0
    SUCCEEDED = 1
    FAILED = 2


_RUNNING = TaskState.RUNNING
_SUCCEEDED = TaskState.SUCCEEDED
_FAILED = TaskState.FAILED


class TaskBase:
    """Base of all tasks.

    Attributes:
        id: sequence id once scheduled (``None`` before), the event name of an
            external-event wait, ``-1`` for compound tasks.
        state: a :class:`TaskState`.
        result: the value, or the exception of a failed task.
        parent: the compound task this task is a child of, if any.
        action_repr: the action(s) sent to the host when the task is scheduled.
        is_played: whether the event that resolved the task was replayed.
    """

    def __init__(self, id_: TaskId, actions: ActionRepr) -> None:
        self.id: TaskId = id_
        self.state: TaskState = _RUNNING
        self.parent: CompoundTask | None = None
        if isinstance(actions, list):
            api_action: object = actions[0] if len(actions) == 1 else None
            self._api_name = (
                type(api_action).__name__ if api_action is not None else "CompoundAction"
            )
        else:
            self._api_name = type(actions).__name__
        self.result: Any = None
        self.action_repr: ActionRepr = actions
        self.is_played = False
        self._is_scheduled_flag = False
        self._expected_output_type: Any = None
        self._descriptor: _Descriptor | None = None

    @property
    def _is_scheduled(self) -> bool:
        return self._is_scheduled_flag

    def _set_is_scheduled(self, is_scheduled: bool) -> None:
        self._is_scheduled_flag = is_scheduled

    @property
    def is_completed(self) -> bool:
        """Whether the task succeeded or failed (completion is not success)."""
        return self.state is not _RUNNING

    def set_is_played(self, is_played: bool) -> None:
        """Record whether the event resolving this task was a replayed one."""
        self.is_played = is_played

    def change_state(self, state: TaskState) -> None:
        """Move to a terminal state.

        Raises:
            ValueError: ``state`` is RUNNING.
        """
        if state is _RUNNING:
            raise ValueError("Cannot change Task to the RUNNING state.")
        self.state = state

    def set_value(self, is_error: bool, value: Any) -> None:
        """Resolve the task with a result or, if ``is_error``, an exception; notify the parent.

        Raises:
            TypeError: ``is_error`` is set but ``value`` is not an exception (or a
                failed task, as ``task_any`` forwards).
        """
        if is_error:
            if not isinstance(value, Exception) and not (
                isinstance(value, TaskBase) and isinstance(value.result, Exception)
            ):
                raise TypeError(f"Task ID {self.id} failed but its value was not an Exception")
            self.state = _FAILED
        else:
            self.state = _SUCCEEDED
        self.result = value
        parent = self.parent
        if parent is not None:
            parent.handle_completion(self)

    def propagate(self) -> None:
        """Notify the parent task that this task completed."""
        if self.state is not _RUNNING and self.parent is not None:
            self.parent.handle_completion(self)

    def __await__(self) -> Generator[TaskBase, Any, Any]:
        """``await task`` in an ``async def`` orchestrator: hands the task itself to replay.

        Replay sends the task's value back (or throws its failure), exactly as it does
        for ``yield task`` in a generator, so both forms schedule and resume alike.
        """
        return (yield self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self.id!r} state={self.state.name}>"


class AtomicTask(TaskBase):
    """A task backed by one action (activity, sub-orchestration, timer, event, entity, HTTP)."""

    def _get_action(self) -> Action:
        action_repr = self.action_repr
        return action_repr[0] if isinstance(action_repr, list) else action_repr


class TimerTask(AtomicTask):
    """A durable timer."""

    def __init__(self, id_: TaskId, action: ActionRepr) -> None:
        super().__init__(id_, action)
        self._descriptor = ("timer", None, None)

    @property
    def is_cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        action = self._get_action()
        assert isinstance(action, CreateTimerAction)
        return action.is_cancelled

    def cancel(self) -> None:
        """Cancel the timer (the host drops it when the orchestration completes).

        Raises:
            ValueError: the timer already fired.
        """
        if self.is_completed:
            raise ValueError("Cannot cancel a completed task.")
        action = self._get_action()
        assert isinstance(action, CreateTimerAction)
        action.is_cancelled = True


class CompoundTask(TaskBase):
    """A task over child tasks; subclasses decide when it resolves (:meth:`try_set_value`)."""

    def __init__(
        self, tasks: list[TaskBase], compound_action_constructor: type[Any] | None = None
    ) -> None:
        super().__init__(-1, [])
        child_actions: list[Action] = []
        for task in tasks:
            task.parent = self
            action_repr = task.action_repr
            if isinstance(action_repr, list):
                # Schema V1 repeats already-scheduled children (reference behaviour).
                child_actions.extend(action_repr)
            elif not task._is_scheduled:
                child_actions.append(action_repr)
        if compound_action_constructor is None:
            self.action_repr = child_actions
        else:
            self.action_repr = compound_action_constructor(child_actions)
        self._first_error: Exception | None = None
        self.pending_tasks: set[TaskBase] = set(tasks)
        self.completed_tasks: list[TaskBase] = []
        self.children: list[TaskBase] = tasks
        if not tasks:
            self.state = _SUCCEEDED
        for child in tasks:
            if child.state is not _RUNNING:
                self.handle_completion(child)

    @property
    def _is_scheduled(self) -> bool:
        return all(child._is_scheduled for child in self.children)

    def handle_completion(self, child: TaskBase) -> None:
        """Record that ``child`` completed and let the subclass decide.

        Raises:
            RuntimeError: ``child`` is not pending (it completed twice).
        """
        try:
            self.pending_tasks.remove(child)
        except KeyError:
            raise RuntimeError(
                f"Parent Task {self.id} does not have pending sub-task with ID {child.id}. "
                f"This most likely means that Task {child.id} completed twice."
            ) from None
        self.completed_tasks.append(child)
        self.is_played = child.is_played
        self.try_set_value(child)

    def try_set_value(self, child: TaskBase) -> None:
        """Resolve this task if ``child``'s completion decides it."""
        raise NotImplementedError


class _GroupTask(CompoundTask):
    """``task_all`` or ``task_any``: its compound action is sent from schema V2 on only."""

    _ACTION: type[CompoundAction]

    def __init__(self, task: list[TaskBase], replay_schema: ReplaySchema) -> None:
        constructor = self._ACTION if replay_schema.value >= ReplaySchema.V2.value else None
        super().__init__(task, constructor)


class WhenAllTask(_GroupTask):
    """``task_all``: the list of child results, or the first child failure."""

    _ACTION = WhenAllAction

    def try_set_value(self, child: TaskBase) -> None:
        if child.state is _SUCCEEDED:
            if not self.pending_tasks:
                self.set_value(is_error=False, value=[c.result for c in self.children])
        elif self._first_error is None:
            self._first_error = child.result
            self.set_value(is_error=True, value=self._first_error)


class WhenAnyTask(_GroupTask):
    """``task_any``: resolves with the first child to complete (the Task object itself)."""

    _ACTION = WhenAnyAction

    def try_set_value(self, child: TaskBase) -> None:
        if self.state is _RUNNING:
            self.set_value(is_error=False, value=child)


class LongTimerTask(WhenAllTask):
    """A timer longer than the backend's maximum, fired as a chain of shorter timers.

    Its value is ``[None]`` (WhenAll semantics over the first interval), as in the
    reference SDK.
    """

    def __init__(
        self,
        id_: TaskId,
        action: CreateTimerAction,
        orchestration_context: TaskScheduler,
    ) -> None:
        self._orchestration_context = orchestration_context
        self._max_short_timer_duration, self._long_timer_interval = (
            orchestration_context.long_timer_limits
        )
        first = self.get_next_timer_task(action.fire_at, orchestration_context.current_utc_datetime)
        super().__init__([first], orchestration_context.replay_schema)
        self.id = id_
        self.action = action

    def is_canceled(self) -> bool:
        """Whether :meth:`cancel` was called (a method, as in the reference SDK)."""
        return self.action.is_cancelled

    def cancel(self) -> None:
        """Mark the long timer cancelled (local only, as in the reference SDK).

        Raises:
            ValueError: the timer already fired.
        """
        if self.result:
            raise ValueError("Cannot cancel a completed task.")
        self.action.is_cancelled = True

    def try_set_value(self, child: TaskBase) -> None:
        current_time = self._orchestration_context.current_utc_datetime
        final_fire_time = self.action.fire_at
        if final_fire_time > current_time:
            self.add_new_child(self.get_next_timer_task(final_fire_time, current_time))
        super().try_set_value(child)

    def get_next_timer_task(self, final_fire_time: datetime, current_time: datetime) -> TimerTask:
        """The timer of the next interval: a full interval, or the rest if it is short enough."""
        if final_fire_time - current_time > self._max_short_timer_duration:
            next_fire_time = current_time + self._long_timer_interval
        else:
            next_fire_time = final_fire_time
        return TimerTask(None, CreateTimerAction(next_fire_time))

    def add_new_child(self, child_timer: TimerTask) -> None:
        """Schedule the next interval's timer now (new id, plain CreateTimer action)."""
        child_timer.parent = self
        self.pending_tasks.add(child_timer)
        context = self._orchestration_context
        context.add_to_open_tasks(child_timer)
        context.add_to_actions(child_timer.action_repr)
        child_timer._set_is_scheduled(True)


class RetryAbleTask(WhenAllTask):
    """A ``*_with_retry`` call: mirrors the host's retries as they appear in history.

    The host records, per failed attempt, a timer and then a new attempt (and a last
    timer after the final attempt). Each of those gets the next sequence id here, so
    later ids stay aligned with history.
    """

    def __init__(
        self,
        child: TaskBase,
        retry_options: RetryOptions,
        context: TaskScheduler,
    ) -> None:
        super().__init__([child], context.replay_schema)
        self.retry_options = retry_options
        self.num_attempts = 1
        self.context = context
        self.actions = child.action_repr
        self.is_waiting_on_timer = False
        self.error: Any = None
        self._attempt_descriptor = child._descriptor

    @property
    def id_(self) -> str:
        """``"[<child ids>]_retryable_proxy"``, as in the reference SDK."""
        return str([child.id for child in self.children]) + "_retryable_proxy"

    def try_set_value(self, child: TaskBase) -> None:
        if self.is_waiting_on_timer:
            self.is_waiting_on_timer = False
            # The host fires one more timer after the last attempt before giving up.
            if self.num_attempts >= self.retry_options.max_number_of_attempts:
                self.is_waiting_on_timer = True
                self.set_value(is_error=True, value=self.error)
            else:
                self._add_internal(NoOpAction("rescheduled task"), self._attempt_descriptor)
                self.num_attempts += 1
            return
        if child.state is _SUCCEEDED:
            if not self.pending_tasks:
                self.set_value(is_error=False, value=child.result)
        else:
            self._add_internal(NoOpAction("-WithRetry timer"), ("timer", None, None))
            self.is_waiting_on_timer = True
            self.error = child.result

    def _add_internal(self, action: NoOpAction, descriptor: _Descriptor | None) -> None:
        task = self.context.generate_task(action, parent=self, descriptor=descriptor)
        self.pending_tasks.add(task)
        self.context.add_to_open_tasks(task)
