"""The host-side replay: checks the SDK's action list against history and derives new work.

DTFx replays the out-of-proc shim on every episode; this module does the same with the
action list the SDK returned, so the local host assigns the same sequence ids, notices
the same non-determinism and schedules the same work. It runs once per episode over
the whole history: its per-event loops are the engine's hot path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from durable_functions._nondeterminism import Descriptor, nondeterminism_error
from durable_functions._protocol import (
    HTTP_ACTIVITY_NAME,
    ActionType,
    EventType,
    format_timestamp,
)
from durable_functions._protocol import parse_utc_timestamp as parse_timestamp
from durable_functions.host._events import SCHEDULING as _SCHEDULING
from durable_functions.host._events import history_event
from durable_functions.host._ids import derived_id, parse_entity_id, sub_orchestration_instance_id
from durable_functions.host._messages import sub_orchestration_instance, timer_item
from durable_functions.host._types import (
    ActivityWorkItem,
    EntityMessage,
    Event,
    InstanceState,
    NewInstance,
    TimerItem,
)

Path = tuple[int, ...]
"""Where an action sits in the top-level action list: top index, then compound indices."""


_COMPLETIONS: dict[Any, bool] = {
    int(EventType.TaskCompleted): False,
    int(EventType.SubOrchestrationInstanceCompleted): False,
    int(EventType.TaskFailed): True,
    int(EventType.SubOrchestrationInstanceFailed): True,
}
"""Events that complete a task by ``TaskScheduledId``, and whether they fail it."""
_ORCHESTRATOR_STARTED = int(EventType.OrchestratorStarted)
_TIMER_FIRED = int(EventType.TimerFired)
_EXECUTION_STARTED = int(EventType.ExecutionStarted)
_EVENT_RAISED = int(EventType.EventRaised)


class _Node:
    """A task as the host sees it while replaying the action list."""

    __slots__ = ("done", "failed", "parent")

    def __init__(self, parent: _Node | None) -> None:
        self.done = False
        self.failed = False
        self.parent = parent

    def child_done(self, child: _Node, sim: _Replay) -> None:
        """React to a child task finishing."""


class _Leaf(_Node):
    __slots__ = ("kind", "action", "task_id", "canceled")

    def __init__(self, parent: _Node | None, kind: str, action: Mapping[str, Any]) -> None:
        super().__init__(parent)
        self.kind = kind
        self.action = action
        self.task_id: int | None = None
        self.canceled = False


class _Group(_Node):
    """WhenAll / WhenAny over children, evaluated once all children exist."""

    __slots__ = ("any", "children", "building", "finished", "failures")

    def __init__(self, parent: _Node | None, *, any_: bool) -> None:
        super().__init__(parent)
        self.any = any_
        self.children: list[_Node] = []
        self.building = True
        self.finished = 0
        """Children done so far (counted, so a fan-out of N is not rescanned N times)."""
        self.failures = 0

    def child_done(self, child: _Node, sim: _Replay) -> None:
        self.finished += 1
        if child.failed:
            self.failures += 1
        if not self.building:  # built and still open: no child had decided it before
            self.evaluate(sim)

    def evaluate(self, sim: _Replay) -> None:
        """Once built: finish if the rule is met (WhenAny: first child, even a failed one, as
        .NET's Task.WhenAny (protocol §5.8); WhenAll: all, or a failure)."""
        if self.done:
            return
        if not self.children:
            sim.finish(self, failed=False)
        elif self.any:
            if self.finished:
                sim.finish(self, failed=False)
        elif self.failures:
            sim.finish(self, failed=True)
        elif self.finished == len(self.children):
            sim.finish(self, failed=False)


class _Retry(_Node):
    """CallActivityWithRetry / CallSubOrchestratorWithRetry: DTFx's retry interceptor."""

    __slots__ = ("action", "kind", "attempts", "first_attempt", "exhausted", "attempt", "timer")

    def __init__(self, parent: _Node | None, action: Mapping[str, Any], kind: str) -> None:
        super().__init__(parent)
        self.action = action
        self.kind = kind
        self.attempts = 0
        self.first_attempt: datetime | None = None
        self.exhausted = False
        self.attempt: _Leaf | None = None
        self.timer: _Leaf | None = None

    def child_done(self, child: _Node, sim: _Replay) -> None:
        if self.done:
            return
        if child is self.attempt:
            if child.failed:
                sim.retry_timer(self)
            else:
                sim.finish(self, failed=False)
        elif child is self.timer:
            if self.exhausted:
                sim.finish(self, failed=True)
            else:
                sim.retry_attempt(self)


@dataclass(eq=False, repr=False, kw_only=True)
class _Replay:
    """Replays an action list against history the way DTFx replays the out-of-proc shim.

    The shim awaits the top-level actions one after another (fire-and-forget ones
    are not awaited), so sequence ids are handed out in the order the awaited tasks
    complete in history, interleaved with the ids the retry interceptor takes for
    its timers and attempts — the same numbers the SDK assigns. Actions the
    history has not seen yet become new scheduling events and outgoing work.
    """

    instance: InstanceState
    history: Sequence[Event]
    now: datetime
    new_id: Callable[[], str]
    default_version: str | None = None
    """host.json ``defaultVersion``, for sub-orchestrations started without a version."""

    def __post_init__(self) -> None:
        history, now = self.history, self.now
        self.counter = 0
        """Next sequence id; ids 0..counter-1 are exactly the ones the code reached."""
        self.scheduled: dict[int, Event] = {}
        self.completed: set[int] = set()
        for event in history:
            kind = event.get("EventType")
            if kind in _SCHEDULING and isinstance(event.get("EventId"), int):
                self.scheduled[event["EventId"]] = event
            elif kind == EventType.TimerFired:
                self.completed.add(event.get("TimerId", -1))
        self.lowest = min(self.scheduled, default=0)
        self.highest = max(self.scheduled, default=-1)
        """Bounds of ``scheduled``: no id outside 0..counter-1 means nothing was forgotten."""
        self.pending: dict[int, _Leaf] = {}
        self.early: dict[int, bool] = {}
        self.waiters: dict[str, list[_Leaf]] = {}
        self.deferred: dict[str, tuple[int, Event]] = {}
        self.consumed: set[int] = set()
        self.clock = now
        for event in history:
            if event.get("EventType") == EventType.OrchestratorStarted:
                self.clock = parse_timestamp(event["Timestamp"])
                break
        self.actions: list[dict[str, Any]] = []
        self.cursor = 0
        self.current: _Node | None = None
        self.canceled: dict[int, None] = {}
        """Ids of canceled timers that have not fired (in start order = id order)."""
        self.watched: dict[int, tuple[Path, _Leaf]] = {}
        """Timers started from an action, not canceled and not fired: the SDK may cancel
        them in a later episode by flipping ``isCanceled`` in the action it re-sends."""
        self.unstable = False
        """A new scheduling event would not match its own action on the next replay."""
        self.touched = 0
        """Events and tasks this replay handled (what a session keeps O(new))."""
        self._undo: list[tuple[str, Any, Any]] | None = None
        self._saved: tuple[int, _Node | None, int] = (0, None, 0)
        self._new: list[tuple[int, Event]] = []
        self.activities: list[ActivityWorkItem] = []
        self.timers: list[TimerItem] = []
        self.cancel_timers: list[int] = []
        self.new_instances: list[NewInstance] = []
        self.entity_messages: list[EntityMessage] = []
        self.nondeterminism: str | None = None
        self.continue_as_new: dict[str, Any] | None = None
        self.continue_as_new_id = -1

    # -- driving

    def run(self, actions: list[dict[str, Any]]) -> None:
        """Replay ``actions`` against the whole history (past and new events)."""
        self.actions = actions
        for index, event in enumerate(self.history):
            if self.nondeterminism is not None:
                return
            self._apply(index, event)
        self._settle()

    def resume(
        self,
        actions: list[dict[str, Any]],
        events: Sequence[Event],
        base: int,
        *,
        instance: InstanceState,
        now: datetime,
        new_id: Callable[[], str],
    ) -> None:
        """Continue a kept replay with the episode's ``events`` (history index ``base`` on).

        The replay must have been rolled back (``rollback``) after the episode that
        produced it, and ``actions`` must start with the actions it consumed.
        """
        self.instance, self.now, self.new_id = instance, now, new_id
        self.actions = actions
        self.history = ()
        self._new, self.activities, self.timers, self.cancel_timers = [], [], [], []
        self.new_instances, self.entity_messages = [], []
        for event in events:  # what the constructor reads from the whole history
            kind = event.get("EventType")
            task_id = event.get("EventId")
            if kind in _SCHEDULING and isinstance(task_id, int):
                self.scheduled[task_id] = event
                self.lowest, self.highest = min(self.lowest, task_id), max(self.highest, task_id)
            elif kind == EventType.TimerFired:
                fired = event.get("TimerId", -1)
                self.completed.add(fired)
                self.canceled.pop(fired, None)
                self.watched.pop(fired, None)
        for offset, event in enumerate(events):
            if self.nondeterminism is not None:
                return
            self._apply(base + offset, event)
        self._settle()

    def _settle(self) -> None:
        """Start what the SDK sent beyond the sequential model, check, list canceled timers.

        Everything this changes in the kept state is logged, so ``rollback`` can return
        to the state right after the last history event, where the next replay resumes.
        """
        self._saved = (self.cursor, self.current, self.counter)
        self._undo = []
        # The SDK may be ahead of the strictly sequential model (e.g. it reused a
        # buffered event); whatever it still sent is started now, in order.
        self._advance(force=True)
        if self.nondeterminism is None and self.continue_as_new is None:
            self._check_forgotten()
        self.cancel_timers = sorted(self.canceled)

    def resumable(self) -> bool:
        """Whether a later replay may resume from this one instead of starting over.

        Not after non-determinism or continue-as-new, nor when a new scheduling event
        would not match its own action, nor when the sequential model ran out of
        actions with the last one done: a longer action list would then have started
        its next action earlier in history than a resumed replay can.
        """
        cursor, current, _ = self._saved
        return (
            self.nondeterminism is None
            and self.continue_as_new is None
            and not self.unstable
            and (cursor < len(self.actions) or (current is not None and not current.done))
        )

    def rollback(self) -> None:
        """Undo ``_settle``'s forced starts: back to the state after the last event."""
        undo = self._undo or []
        for what, key, value in reversed(undo):
            if what == "pending":
                del self.pending[key]
            elif what == "early":
                self.early[key] = value
            elif what == "waiter":
                self.waiters[key].pop()
            elif what == "consumed":
                self.consumed.discard(key)
            elif what == "canceled":
                self.canceled.pop(key, None)
            else:  # watched
                self.watched.pop(key, None)
        self._undo = None
        self.cursor, self.current, self.counter = self._saved
        self.history = ()  # a kept replay holds no copy of the history

    def new_events(self) -> list[Event]:
        """Scheduling events of this episode, ordered by sequence id like DTFx's decisions."""
        return [event for _, event in sorted(self._new, key=lambda pair: pair[0])]

    def unprocessed_events(self, history: Sequence[Event]) -> list[Event]:
        """EventRaised events no waiter took (kept across continue-as-new)."""
        return [
            event
            for index, event in enumerate(history)
            if event.get("EventType") == EventType.EventRaised and index not in self.consumed
        ]

    def _apply(self, index: int, event: Event) -> None:
        self.touched += 1
        kind = event.get("EventType")
        try:
            failed = _COMPLETIONS.get(kind)
        except TypeError:  # not even hashable: no event the replay reacts to
            return
        if failed is not None:
            self._complete(event.get("TaskScheduledId"), failed=failed)
        elif kind == _ORCHESTRATOR_STARTED:
            stamp = parse_timestamp(event["Timestamp"])
            self.clock = max(self.clock, stamp)
        elif kind == _TIMER_FIRED:
            self._complete(event.get("TimerId"), failed=False)
        elif kind == _EXECUTION_STARTED:
            self._advance()
        elif kind == _EVENT_RAISED:
            self._raise(index, event)

    def _advance(self, *, force: bool = False) -> None:
        while (
            self.cursor < len(self.actions)
            and self.nondeterminism is None
            and self.continue_as_new is None
        ):
            if not force and self.current is not None and not self.current.done:
                return
            action = self.actions[self.cursor]
            self.cursor += 1
            self.current = self._start(action, None, (self.cursor - 1,))

    def finish(self, node: _Node, *, failed: bool) -> None:
        """Mark ``node`` finished and tell its parent."""
        if node.done:
            return
        node.done = True
        node.failed = failed
        if node.parent is not None:
            node.parent.child_done(node, self)

    def _complete(self, task_id: Any, *, failed: bool) -> None:
        if not isinstance(task_id, int):
            return
        leaf = self.pending.pop(task_id, None)
        if leaf is None:
            self.early[task_id] = failed
            return
        self.finish(leaf, failed=failed)
        self._advance()

    def _raise(self, index: int, event: Event) -> None:
        name = str(event.get("Name"))
        waiting = self.waiters.get(name)
        if not waiting:
            self.deferred[name] = (index, event)
            return
        leaf = waiting.pop()  # the most recently registered waiter, like the SDK
        self._consume(index)
        self.finish(leaf, failed=leaf.kind == "entity" and _is_entity_error(event))
        self._advance()

    # -- starting tasks

    def _consume(self, index: int) -> None:
        if self._undo is not None and index not in self.consumed:
            self._undo.append(("consumed", index, None))
        self.consumed.add(index)

    def _start(self, action: Mapping[str, Any], parent: _Node | None, path: Path) -> _Node:
        self.touched += 1
        kind = action.get("actionType")
        if kind in (ActionType.WhenAll, ActionType.WhenAny):
            group = _Group(parent, any_=kind == ActionType.WhenAny)
            for position, child in enumerate(action.get("compoundActions") or []):
                if isinstance(child, Mapping):
                    group.children.append(self._start(child, group, (*path, position)))
            group.building = False
            group.evaluate(self)
            return group
        if kind in (ActionType.CallActivityWithRetry, ActionType.CallSubOrchestratorWithRetry):
            retry = _Retry(
                parent,
                action,
                "activity" if kind == ActionType.CallActivityWithRetry else "suborch",
            )
            retry.first_attempt = self.clock
            self.retry_attempt(retry)
            return retry
        simple: dict[int, str] = {
            ActionType.CallActivity: "activity",
            ActionType.CallSubOrchestrator: "suborch",
            ActionType.CreateTimer: "timer",
            ActionType.WaitForExternalEvent: "event",
            ActionType.CallEntity: "entity",
            ActionType.CallHttp: "http",
            ActionType.SignalEntity: "signal",
            ActionType.ContinueAsNew: "continue",
        }
        leaf = _Leaf(
            parent, simple.get(kind, "unknown") if isinstance(kind, int) else "unknown", action
        )
        self._start_leaf(leaf)
        task_id = leaf.task_id
        if (
            leaf.kind == "timer"
            and not leaf.canceled
            and task_id is not None
            and task_id not in self.completed
            and self.nondeterminism is None
        ):
            self.watched[task_id] = (path, leaf)
            if self._undo is not None:
                self._undo.append(("watched", task_id, None))
        return leaf

    def _start_leaf(self, leaf: _Leaf) -> None:
        action = leaf.action
        if leaf.kind == "unknown":
            self.finish(leaf, failed=False)
            return
        if leaf.kind == "event":
            self._wait(leaf, str(action.get("externalEventName")))
            return
        task_id = self.counter
        self.counter += 1
        leaf.task_id = task_id
        if leaf.kind == "continue":
            self.continue_as_new = dict(action)
            self.continue_as_new_id = task_id
            self.finish(leaf, failed=False)
            return
        recorded = self.scheduled.get(task_id)
        if recorded is not None:
            problem = _mismatch(recorded, leaf)
            if problem is not None:
                self.nondeterminism = problem
                return
        else:
            self._schedule(leaf, task_id)
        if leaf.kind == "timer" and action.get("isCanceled"):
            leaf.canceled = True
            self.cancel(task_id)
        if leaf.kind == "signal":
            self.finish(leaf, failed=False)
        elif leaf.kind == "entity":
            self._wait(leaf, _request_id(self.scheduled.get(task_id), self.instance, task_id))
        elif task_id in self.early:
            failed = self.early.pop(task_id)
            if self._undo is not None:
                self._undo.append(("early", task_id, failed))
            self.finish(leaf, failed=failed)
        else:
            self.pending[task_id] = leaf
            if self._undo is not None:
                self._undo.append(("pending", task_id, None))

    def cancel(self, task_id: int) -> None:
        """A canceled timer: listed in ``cancel_timers`` until it fires."""
        if task_id not in self.completed and task_id not in self.canceled:
            self.canceled[task_id] = None
            if self._undo is not None:
                self._undo.append(("canceled", task_id, None))

    def _wait(self, leaf: _Leaf, name: str) -> None:
        buffered = self.deferred.get(name)
        if buffered is not None:
            index, event = buffered
            self._consume(index)
            self.finish(leaf, failed=leaf.kind == "entity" and _is_entity_error(event))
            return
        self.waiters.setdefault(name, []).append(leaf)
        if self._undo is not None:
            self._undo.append(("waiter", name, None))

    # -- retries (DTFx RetryInterceptor)

    def retry_attempt(self, retry: _Retry) -> None:
        """Schedule the next attempt of a retried call."""
        retry.attempts += 1
        attempt = _Leaf(retry, retry.kind, retry.action)
        retry.attempt = attempt
        self._start_leaf(attempt)

    def retry_timer(self, retry: _Retry) -> None:
        """After a failed attempt: a timer for the next one, or a last timer before failing."""
        options = retry.action.get("retryOptions") or {}
        first = float(options.get("firstRetryIntervalInMilliseconds") or 0)
        max_attempts = int(options.get("maxNumberOfAttempts") or 1)
        backoff = float(options.get("backoffCoefficient") or 1)
        max_interval = options.get("maxRetryIntervalInMilliseconds")
        timeout = options.get("retryTimeoutInMilliseconds")
        delay = timedelta(0)
        expired = (
            timeout is not None
            and retry.first_attempt is not None
            and self.clock >= retry.first_attempt + timedelta(milliseconds=float(timeout))
        )
        if retry.attempts < max_attempts and not expired:
            millis = first * backoff ** (retry.attempts - 1)
            if max_interval is not None:
                millis = min(millis, float(max_interval))
            delay = timedelta(milliseconds=millis)
        else:
            retry.exhausted = True
        fire_at = self.clock + delay
        timer = _Leaf(retry, "timer", {"fireAt": format_timestamp(fire_at), "isCanceled": False})
        retry.timer = timer
        self._start_leaf(timer)

    # -- new work

    def _schedule(self, leaf: _Leaf, task_id: int) -> None:
        action, instance, now = leaf.action, self.instance, self.now
        if leaf.kind in ("activity", "http"):
            if leaf.kind == "http":
                name = HTTP_ACTIVITY_NAME
                input_text: str | None = json.dumps(action.get("httpRequest"))
            else:
                name = str(action.get("functionName"))
                input_text = action.get("input")
            kind = EventType.TaskScheduled
            fields: dict[str, Any] = {"Name": name, "Version": "", "Input": input_text}
            self.activities.append(
                ActivityWorkItem(
                    instance_id=instance.instance_id,
                    execution_id=instance.execution_id,
                    task_id=task_id,
                    name=name,
                    input=input_text,
                )
            )
        elif leaf.kind == "suborch":
            name = str(action.get("functionName"))
            child_id = action.get("instanceId") or sub_orchestration_instance_id(
                instance.instance_id, task_id
            )
            version = action.get("version")
            if version is None:
                version = self.default_version
            input_text = action.get("input")
            kind = EventType.SubOrchestrationInstanceCreated
            fields = {"Name": name, "Version": version, "InstanceId": child_id, "Input": input_text}
            self.new_instances.append(
                sub_orchestration_instance(
                    instance,
                    task_id,
                    name,
                    str(child_id),
                    input_text,
                    now=now,
                    execution_id=self.new_id(),
                    version=version if version is not None else "",
                )
            )
        elif leaf.kind == "timer":
            fire_at = parse_timestamp(str(action.get("fireAt")))
            kind, fields = EventType.TimerCreated, {"FireAt": format_timestamp(fire_at)}
            if not action.get("isCanceled"):
                self.timers.append(timer_item(instance, task_id, fire_at, now=now))
        else:  # entity call or signal
            entity_id = str(action.get("instanceId"))
            parse_entity_id(entity_id)  # a bad id fails the orchestration, not the entity worker
            operation = action.get("operation")
            op_input = action.get("input")
            request: dict[str, Any] = {"op": operation}
            if leaf.kind == "signal":
                request["signal"] = True
            request.update(
                {
                    "input": None if op_input is None else json.dumps(op_input),
                    "id": derived_id(instance.instance_id, instance.execution_id, task_id),
                    "parent": instance.instance_id,
                    "parentExecution": instance.execution_id,
                    "Timestamp": format_timestamp(now),
                }
            )
            kind = EventType.EventSent
            fields = {
                "InstanceId": entity_id,
                "Name": operation,
                "Input": json.dumps(request, separators=(",", ":")),
            }
            self.entity_messages.append(EntityMessage(entity_id=entity_id, request=request))
        event = history_event(kind, timestamp=now, event_id=task_id, **fields)
        self._new.append((task_id, event))
        self.scheduled[task_id] = event
        self.lowest, self.highest = min(self.lowest, task_id), max(self.highest, task_id)
        if _mismatch(event, leaf) is not None:
            self.unstable = True  # e.g. a non-text name: the next replay would flag it

    def _check_forgotten(self) -> None:
        """History scheduled work at an id the code no longer reaches: non-determinism."""
        if self.lowest >= 0 and self.highest < self.counter:
            return  # every recorded id is one of 0..counter-1
        for task_id in sorted(self.scheduled):
            if not 0 <= task_id < self.counter:
                error = nondeterminism_error(task_id, self.scheduled[task_id], None)
                self.nondeterminism = str(error)
                return


def _request_id(sent: Event | None, instance: InstanceState, task_id: int) -> str:
    """The request id of a CallEntity, read from its EventSent (or derived like it was)."""
    if sent is not None:
        try:
            request = json.loads(sent.get("Input") or "{}")
            if isinstance(request, dict) and request.get("id"):
                return str(request["id"])
        except ValueError:
            pass
    return derived_id(instance.instance_id, instance.execution_id, task_id)


def _is_entity_error(event: Event) -> bool:
    try:
        response = json.loads(event.get("Input") or "{}")
    except ValueError:
        return False
    if not isinstance(response, dict):
        return False
    result = response.get("result")
    return "exceptionType" in response or (
        isinstance(result, str) and result.startswith("Timeout value of")
    )


_EXPECTED = {
    "activity": EventType.TaskScheduled,
    "http": EventType.TaskScheduled,
    "suborch": EventType.SubOrchestrationInstanceCreated,
    "timer": EventType.TimerCreated,
    "entity": EventType.EventSent,
    "signal": EventType.EventSent,
}
"""The scheduling event each kind of leaf leaves in history."""


def _mismatch(recorded: Event, leaf: _Leaf) -> str | None:
    """Why a recorded scheduling event does not fit the action replayed at its id, if so."""
    expected = _EXPECTED[leaf.kind]
    action = leaf.action
    same = recorded.get("EventType") == expected
    if same and leaf.kind == "activity":
        same = recorded.get("Name") == action.get("functionName")
    elif same and leaf.kind == "http":
        same = recorded.get("Name") == HTTP_ACTIVITY_NAME
    elif same and leaf.kind == "suborch":
        same = recorded.get("Name") == action.get("functionName")
    elif same and leaf.kind in ("entity", "signal"):
        same = recorded.get("Name") == action.get("operation") and recorded.get(
            "InstanceId"
        ) == action.get("instanceId")
    if same:
        return None
    assert leaf.task_id is not None
    return str(nondeterminism_error(leaf.task_id, recorded, _descriptor(leaf)))


def _descriptor(leaf: _Leaf) -> Descriptor:
    """The leaf as the SDK describes the task it created (see ``_nondeterminism``)."""
    action = leaf.action
    if leaf.kind == "activity":
        return ("activity", action.get("functionName"), None)
    if leaf.kind == "suborch":
        return ("sub-orchestration", action.get("functionName"), None)
    if leaf.kind in ("entity", "signal"):
        return ("entity", action.get("operation"), action.get("instanceId"))
    return (leaf.kind, None, None)  # timer, http
