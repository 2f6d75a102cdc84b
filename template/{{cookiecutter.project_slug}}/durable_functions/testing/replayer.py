"""``durable replay``: check the current code against recorded orchestration histories.

A running orchestration replays its history on every episode. If the code now
makes different decisions (calls another activity, waits on a timer instead of
an event, finishes early) the real host fails the instance with a
non-determinism error. The replayer finds that before you deploy: it feeds each
recorded history to the current orchestrator and compares every decision with
what history recorded.

Accepted files (one instance per file, or a JSON list of them):

* the raw history export of the local host (``durable history <id>``, preferred):
  ``{"instanceId", "name", "history": [events...]}`` or a bare list of events;
* a status query with ``showHistory=true`` (``historyEvents``): event ids are
  not in that format, so the history is reconstructed from timestamps, best effort.

Example::

    $ durable replay histories/ --app function_app.py
    MISMATCH histories/abc.json abc (order_orchestrator): event 7 (id 2): history recorded
      activity 'charge_card' (TASK_SCHEDULED), but the code now does activity 'reserve_stock'

The wording is the SDK's own non-determinism wording (``durable_functions._nondeterminism``),
so a mismatch reads the same here, in a test and in a failed instance's output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from durable_functions._nondeterminism import (
    NOT_SCHEDULED,
    Descriptor,
    describe_action,
    describe_event,
)
from durable_functions._protocol import HTTP_ACTIVITY_NAME, OUT_OF_PROC_MARKER
from durable_functions.errors import DurableError, FunctionNotFoundError, NonDeterminismError

# HistoryEventType values (protocol §3.2).
_EXECUTION_STARTED = 0
_EXECUTION_COMPLETED = 1
_EXECUTION_FAILED = 2
_EXECUTION_TERMINATED = 3
_TASK_SCHEDULED = 4
_TASK_COMPLETED = 5
_TASK_FAILED = 6
_SUB_CREATED = 7
_SUB_COMPLETED = 8
_SUB_FAILED = 9
_TIMER_CREATED = 10
_TIMER_FIRED = 11
_ORCHESTRATOR_STARTED = 12
_ORCHESTRATOR_COMPLETED = 13
_EVENT_SENT = 14
_EVENT_RAISED = 15
_CONTINUE_AS_NEW = 16

_EVENT_TYPES = {
    "ExecutionStarted": 0,
    "ExecutionCompleted": 1,
    "ExecutionFailed": 2,
    "ExecutionTerminated": 3,
    "TaskScheduled": 4,
    "TaskCompleted": 5,
    "TaskFailed": 6,
    "SubOrchestrationInstanceCreated": 7,
    "SubOrchestrationInstanceCompleted": 8,
    "SubOrchestrationInstanceFailed": 9,
    "TimerCreated": 10,
    "TimerFired": 11,
    "OrchestratorStarted": 12,
    "OrchestratorCompleted": 13,
    "EventSent": 14,
    "EventRaised": 15,
    "ContinueAsNew": 16,
    "GenericEvent": 17,
    "HistoryState": 18,
    "ExecutionSuspended": 19,
    "ExecutionResumed": 20,
    "ExecutionRewound": 21,
}
# DTFx OrchestrationStatus values, as numbers or names in ExecutionCompleted.
_STATUS_NAMES = {
    0: "Running",
    1: "Completed",
    2: "ContinuedAsNew",
    3: "Failed",
    4: "Canceled",
    5: "Terminated",
    6: "Pending",
    7: "Suspended",
}


class OrchestratorInvoker(Protocol):
    """Runs one orchestrator episode (``durable_functions.host.functions.LoadedApp`` is one)."""

    def invoke_orchestrator(self, name: str, payload: str) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedHistory:
    """One orchestration instance's history, as read from a file."""

    source: str
    """The file it came from."""
    instance_id: str
    name: str
    """The orchestrator's name."""
    events: list[dict[str, Any]]
    """Raw history events (PascalCase keys, numeric ``EventType``)."""
    parent_instance_id: str | None = None
    reconstructed: bool = False
    """True when rebuilt from a ``showHistory`` status (event ids inferred)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Something an orchestrator decided: schedule work, or finish."""

    kind: str
    """``activity``, ``sub-orchestration``, ``timer``, ``entity call``, ``entity signal``,
    ``http``, ``continue-as-new``, ``completion``, ``failure``, ``waiting``."""
    name: str = ""
    """The function name; an entity call's or signal's operation; an HTTP call's method and URI."""
    retry: bool = False
    target: str | None = None
    """The entity id (``@name@key``) of an entity call or signal."""

    def __str__(self) -> str:
        if self.kind == "waiting":
            return "keeps waiting (no further decision)"
        if self.kind == "failure":
            return f"fails: {self.name}" if self.name else "fails"
        if self.kind == "completion":
            return "completes"
        return describe_action(*self.descriptor)

    @property
    def descriptor(self) -> Descriptor:
        """The decision as the SDK describes the task it creates (``describe_action``)."""
        if self.kind in {"entity call", "entity signal"}:
            return ("entity", self.name, self.target)
        if self.kind in {"activity", "sub-orchestration"}:
            return (self.kind, self.name, None)
        return (self.kind, None, None)

    def same_as(self, other: Decision) -> bool:
        """Whether DTFx would accept ``other`` where history recorded ``self``."""
        kinds = {self.kind, other.kind}
        if kinds == {"http", "activity"}:  # the host runs HTTP calls as an activity
            return HTTP_ACTIVITY_NAME in {self.name, other.name}
        if self.kind != other.kind:
            return False
        if self.kind in {"timer", "continue-as-new", "completion", "waiting", "failure"}:
            return True
        if (self.target or "").lower() != (other.target or "").lower():
            return False
        return self.name.lower() == other.name.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Mismatch:
    """The first decision of an instance that differs from its history."""

    event_index: int
    """Position in the history list (``len(history)`` = after the last event)."""
    event_id: int | None
    """The event's ``EventId`` (the task's sequence number), when it has one."""
    recorded: str
    """What history recorded, e.g. ``activity 'a' (TASK_SCHEDULED)``."""
    actual: str
    """What the code now does, worded to follow "the code now does": a task
    (``activity 'b'``) or a verb (``complete``, ``not schedule it (…)``)."""

    def __str__(self) -> str:
        where = f"event {self.event_index}"
        if self.event_id is not None and self.event_id >= 0:
            where += f" (id {self.event_id})"
        return f"{where}: history recorded {self.recorded}, but the code now does {self.actual}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayReport:
    """The outcome of replaying one recorded history."""

    history: RecordedHistory
    mismatch: Mismatch | None = None
    error: str | None = None
    """Why the history could not be replayed at all (e.g. unknown orchestrator)."""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if the code makes exactly the recorded decisions."""
        return self.mismatch is None and self.error is None

    def __str__(self) -> str:
        h = self.history
        head = f"{h.source} {h.instance_id} ({h.name})"
        if self.error is not None:
            return f"ERROR {head}: {self.error}"
        if self.mismatch is not None:
            return f"MISMATCH {head}: {self.mismatch}"
        return f"OK {head}"


# -- reading history files ----------------------------------------------------------------------


def load_histories(paths: Iterable[str | Path]) -> list[RecordedHistory]:
    """Read every history in the given files and folders (``*.json``, recursively)."""
    histories: list[RecordedHistory] = []
    for file in _json_files(paths):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DurableError(f"{file}: not a JSON history file: {exc}") from exc
        items = data if isinstance(data, list) and data and _is_document(data[0]) else [data]
        for item in items:
            histories.append(parse_history(item, source=str(file)))
    return histories


def _is_document(item: Any) -> bool:
    return isinstance(item, dict) and ("history" in item or "historyEvents" in item)


def _json_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(path.rglob("*.json"))
        elif path.is_file():
            yield path
        else:
            raise DurableError(f"{path}: no such file or folder")


def parse_history(data: Any, *, source: str = "<memory>") -> RecordedHistory:
    """Build a RecordedHistory from a raw export, a bare event list or a showHistory status.

    Raises:
        DurableError: the data is none of these.
    """
    if isinstance(data, list):
        return _from_raw({"history": data}, source)
    if isinstance(data, dict) and isinstance(data.get("history"), list):
        return _from_raw(data, source)
    if isinstance(data, dict) and isinstance(data.get("historyEvents"), list):
        return _from_show_history(data, source)
    raise DurableError(
        f"{source}: not a history: expected a list of events, an object with 'history' "
        "(durable history export) or a status with 'historyEvents' (showHistory=true)"
    )


def _from_raw(data: dict[str, Any], source: str) -> RecordedHistory:
    events = [_normalize_event(e, source) for e in data["history"]]
    started = next((e for e in events if e["EventType"] == _EXECUTION_STARTED), None)
    if started is None:
        raise DurableError(f"{source}: the history has no ExecutionStarted event")
    instance = started.get("OrchestrationInstance") or {}
    parent = started.get("ParentInstance") or {}
    parent_instance = (parent.get("OrchestrationInstance") or {}) if parent else {}
    return RecordedHistory(
        source=source,
        instance_id=str(data.get("instanceId") or instance.get("InstanceId") or "replay"),
        name=str(data.get("name") or started.get("Name") or ""),
        events=events,
        parent_instance_id=parent_instance.get("InstanceId"),
    )


def _normalize_event(event: Any, source: str) -> dict[str, Any]:
    if not isinstance(event, dict) or "EventType" not in event:
        raise DurableError(f"{source}: history entry without EventType: {event!r}")
    copy: dict[str, Any] = {str(k): v for k, v in event.items()}
    kind = copy["EventType"]
    if isinstance(kind, str):
        if kind not in _EVENT_TYPES:
            raise DurableError(f"{source}: unknown EventType {kind!r}")
        copy["EventType"] = _EVENT_TYPES[kind]
    copy.setdefault("EventId", -1)
    copy.setdefault("IsPlayed", False)
    copy.setdefault("Timestamp", "1970-01-01T00:00:00Z")
    return copy


def _from_show_history(data: dict[str, Any], source: str) -> RecordedHistory:
    """Rebuild a raw history from the simplified ``historyEvents`` of a status query.

    That format drops event ids, OrchestratorStarted markers and the scheduling
    events of activities and sub-orchestrations (folded into their completions).
    Scheduling order is recovered from ``ScheduledTime``/``Timestamp``; an
    episode boundary is placed before every completion event.
    """
    simple = [_normalize_event(e, source) for e in data["historyEvents"]]
    instance_id = str(data.get("instanceId") or "replay")
    name = str(data.get("name") or "")
    scheduling: list[tuple[str, int, dict[str, Any]]] = []
    others: list[tuple[str, int, dict[str, Any]]] = []
    timers_by_fire_at: dict[str, list[dict[str, Any]]] = {}
    for position, event in enumerate(simple):
        kind = event["EventType"]
        stamp = str(event.get("Timestamp"))
        if kind == _EXECUTION_STARTED:
            name = name or str(event.get("FunctionName") or event.get("Name") or "")
            started = {
                "EventType": _EXECUTION_STARTED,
                "EventId": -1,
                "IsPlayed": False,
                "Timestamp": stamp,
                "Name": name,
                "Version": event.get("Version", ""),
                "OrchestrationInstance": {"InstanceId": instance_id, "ExecutionId": ""},
                "ParentInstance": None,
                "Input": event.get("Input", _raw_input(data.get("input"))),
            }
            others.append((stamp, position, started))
        elif kind in {_TASK_COMPLETED, _TASK_FAILED, _SUB_COMPLETED, _SUB_FAILED}:
            is_sub = kind in {_SUB_COMPLETED, _SUB_FAILED}
            scheduled: dict[str, Any] = {
                "EventType": _SUB_CREATED if is_sub else _TASK_SCHEDULED,
                "EventId": -1,
                "IsPlayed": False,
                "Timestamp": str(event.get("ScheduledTime") or stamp),
                "Name": event.get("FunctionName") or event.get("Name"),
                "Input": event.get("Input"),
            }
            scheduling.append((str(scheduled["Timestamp"]), position, scheduled))
            completion = {k: v for k, v in event.items() if k not in {"FunctionName"}}
            if isinstance(completion.get("Result"), dict | list | int | float | bool):
                completion["Result"] = json.dumps(completion["Result"])
            completion["_scheduled"] = scheduled
            others.append((stamp, position, completion))
        elif kind in {_TIMER_CREATED, _EVENT_SENT}:
            scheduling.append((stamp, position, event))
            if kind == _TIMER_CREATED:
                timers_by_fire_at.setdefault(str(event.get("FireAt")), []).append(event)
        elif kind == _TIMER_FIRED:
            candidates = timers_by_fire_at.get(str(event.get("FireAt")), [])
            event["_scheduled"] = candidates.pop(0) if candidates else None
            others.append((stamp, position, event))
        else:
            others.append((stamp, position, event))
    scheduling.sort(key=lambda item: (item[0], item[1]))
    for sequence, (_, _, event) in enumerate(scheduling):
        event["EventId"] = sequence
    events: list[dict[str, Any]] = []
    merged = sorted(
        [(s, p, 1, e) for s, p, e in scheduling] + [(s, p, 0, e) for s, p, e in others],
        key=lambda item: (item[0], item[2], item[1]),
    )
    for stamp, _, is_scheduling, event in merged:
        kind = event["EventType"]
        if not is_scheduling and kind not in {_EXECUTION_COMPLETED, _EXECUTION_TERMINATED}:
            events.append(_orchestrator_started(stamp))
        scheduled = event.pop("_scheduled", None)
        if scheduled is not None:
            key = "TimerId" if kind == _TIMER_FIRED else "TaskScheduledId"
            event[key] = scheduled["EventId"]
        events.append(event)
    if not any(e["EventType"] == _EXECUTION_STARTED for e in events):
        raise DurableError(f"{source}: the history has no ExecutionStarted event")
    return RecordedHistory(
        source=source, instance_id=instance_id, name=name, events=events, reconstructed=True
    )


def _raw_input(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value)


def _orchestrator_started(stamp: str) -> dict[str, Any]:
    return {
        "EventType": _ORCHESTRATOR_STARTED,
        "EventId": -1,
        "IsPlayed": False,
        "Timestamp": stamp,
    }


# -- replaying ----------------------------------------------------------------------------------


def build_payload(history: RecordedHistory) -> str:
    """The orchestration trigger payload the host would send for this history (protocol §2)."""
    events = _latest_generation(history.events)
    started = next(e for e in events if e["EventType"] == _EXECUTION_STARTED)
    raw_input = started.get("Input")
    try:
        parsed_input = json.loads(raw_input) if isinstance(raw_input, str) else raw_input
    except json.JSONDecodeError:
        parsed_input = raw_input
    if not any(e["EventType"] == _ORCHESTRATOR_STARTED for e in events):
        events = [_orchestrator_started(str(started["Timestamp"])), *events]
    payload = {
        "history": events,
        "input": parsed_input,
        "instanceId": history.instance_id,
        "isReplaying": False,
        "parentInstanceId": history.parent_instance_id,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "longRunningTimerIntervalDuration": "00:00:00",
        "maximumShortTimerDuration": "00:00:00",
        "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
    }
    return json.dumps(payload)


def _latest_generation(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """After continue-as-new only the last generation's events are replayed."""
    starts = [i for i, e in enumerate(events) if e["EventType"] == _EXECUTION_STARTED]
    if len(starts) <= 1:
        return events
    first = starts[-1]
    while first > 0 and events[first - 1]["EventType"] == _ORCHESTRATOR_STARTED:
        first -= 1
    return events[first:]


def run_episode(invoker: OrchestratorInvoker, name: str, payload: str) -> dict[str, Any]:
    """Invoke the orchestrator; return its OrchestratorState, also when it reported a failure.

    Raises:
        FunctionNotFoundError: the app has no orchestrator of that name.
    """
    try:
        text = invoker.invoke_orchestrator(name, payload)
    except FunctionNotFoundError:
        raise
    except Exception as exc:
        message = str(exc)
        if OUT_OF_PROC_MARKER in message:
            state = json.loads(message.split(OUT_OF_PROC_MARKER, 1)[1])
            if isinstance(state, dict):
                return state
        return {"isDone": False, "actions": [], "error": message or type(exc).__name__}
    state = json.loads(text)
    if not isinstance(state, dict):
        raise DurableError(f"orchestrator {name!r} returned {text!r}, not an OrchestratorState")
    return state


def _replay_directly(
    invoker: OrchestratorInvoker, name: str, payload: str
) -> tuple[dict[str, Any], NonDeterminismError | None] | None:
    """Replay with the SDK's pure entry point when the orchestrator function is reachable.

    That gives the replay core's own non-determinism verdict next to the actions.
    """
    find = getattr(invoker, "find", None)
    if find is None:
        return None
    handle = find("orchestrator", name).func
    user = getattr(handle, "orchestrator_function", None)
    if user is None:
        return None
    from durable_functions.replay import replay

    result = replay(user, payload)
    return json.loads(result.state_json), result.non_determinism


def replay_history(invoker: OrchestratorInvoker, history: RecordedHistory) -> ReplayReport:
    """Replay one history through the current code and compare every decision."""
    payload = build_payload(history)
    nondeterminism: NonDeterminismError | None = None
    try:
        direct = _replay_directly(invoker, history.name, payload)
        if direct is not None:
            state, nondeterminism = direct
        else:
            state = run_episode(invoker, history.name, payload)
    except DurableError as exc:
        return ReplayReport(history=history, error=str(exc))
    notes = (
        ["event ids were reconstructed from a showHistory status (best effort)"]
        if history.reconstructed
        else []
    )
    events = _latest_generation(history.events)
    if nondeterminism is not None:
        # The replay core stopped at the mismatch; judge the decisions, not its error.
        state = {k: v for k, v in state.items() if k != "error"}
    mismatch = compare(events, state)
    if mismatch is None and nondeterminism is not None:
        mismatch = _from_nondeterminism(events, nondeterminism)
    return ReplayReport(history=history, mismatch=mismatch, notes=notes)


def _from_nondeterminism(events: list[dict[str, Any]], error: NonDeterminismError) -> Mismatch:
    index = next(
        (
            i
            for i, e in enumerate(events)
            if e["EventType"] in _SCHEDULING and e.get("EventId") == error.event_id
        ),
        len(events),
    )
    return Mismatch(
        event_index=index, event_id=error.event_id, recorded=error.recorded, actual=error.actual
    )


def replay_files(app: Any, paths: Iterable[str | Path]) -> list[ReplayReport]:
    """Replay every history found in ``paths`` against ``app`` (DFApp, Blueprint, module, path)."""
    from durable_functions.testing._apps import load_app_object

    loaded = load_app_object(app)
    return [replay_history(loaded, h) for h in load_histories(paths)]


# -- comparing ----------------------------------------------------------------------------------


def actual_decisions(state: dict[str, Any]) -> list[Decision]:
    """The scheduling decisions of an OrchestratorState, in sequence-number order."""
    decisions: list[Decision] = []
    # The replayer asks for schema V3: one list, compounds hold only new children.
    for group in state.get("actions") or []:
        for action in group:
            _flatten(action, decisions)
    return decisions


def _flatten(action: dict[str, Any], out: list[Decision]) -> None:
    kind = action.get("actionType")
    if kind in (11, 12):
        for child in action.get("compoundActions") or []:
            _flatten(child, out)
    elif kind in (0, 1):
        out.append(Decision(kind="activity", name=str(action.get("functionName")), retry=kind == 1))
    elif kind in (2, 3):
        out.append(
            Decision(
                kind="sub-orchestration", name=str(action.get("functionName")), retry=kind == 3
            )
        )
    elif kind == 5:
        out.append(Decision(kind="timer"))
    elif kind in (7, 9):
        out.append(
            Decision(
                kind="entity call" if kind == 7 else "entity signal",
                name=str(action.get("operation")),
                target=str(action.get("instanceId")),
            )
        )
    elif kind == 8:
        request = action.get("httpRequest") or {}
        out.append(Decision(kind="http", name=f"{request.get('method')} {request.get('uri')}"))
    elif kind == 4:
        out.append(Decision(kind="continue-as-new"))
    # 6 (wait for an external event) takes no sequence number and leaves no history.


def _recorded(event: dict[str, Any]) -> Decision:
    kind = event["EventType"]
    if kind == _TASK_SCHEDULED:
        return Decision(kind="activity", name=str(event.get("Name")))
    if kind == _SUB_CREATED:
        return Decision(kind="sub-orchestration", name=str(event.get("Name")))
    if kind == _TIMER_CREATED:
        return Decision(kind="timer")
    request: dict[str, Any] = {}
    try:
        loaded = json.loads(event.get("Input") or "{}")
        if isinstance(loaded, dict):
            request = loaded
    except (TypeError, json.JSONDecodeError):
        pass
    operation = request.get("op", event.get("Name"))
    signal = bool(request.get("signal"))
    return Decision(
        kind="entity signal" if signal else "entity call",
        name=str(operation),
        target=str(event.get("InstanceId")),
    )


_SCHEDULING = {_TASK_SCHEDULED, _SUB_CREATED, _TIMER_CREATED, _EVENT_SENT}


@dataclass(slots=True)
class _RetryChain:
    decision: Decision
    last_id: int
    expect: str  # "timer", "attempt" or "" (done)


def compare(events: list[dict[str, Any]], state: dict[str, Any]) -> Mismatch | None:
    """The first decision in ``state`` that history does not match, or None.

    Scheduling events are matched to actions in sequence-number order, as the
    host does. Retries of ``*_with_retry`` tasks are the host's own decisions:
    the timer and re-scheduled attempt that follow a failed attempt are
    accounted to that task.
    """
    failed = {
        e.get("TaskScheduledId") for e in events if e["EventType"] in (_TASK_FAILED, _SUB_FAILED)
    }
    indexed = sorted(
        ((i, e) for i, e in enumerate(events) if e["EventType"] in _SCHEDULING),
        key=lambda item: (int(item[1].get("EventId", -1)), item[0]),
    )
    decisions = actual_decisions(state)
    continues = any(d.kind == "continue-as-new" for d in decisions)
    pending = [d for d in decisions if d.kind != "continue-as-new"]
    chains: list[_RetryChain] = []
    position = 0
    for index, event in indexed:
        event_id = int(event.get("EventId", -1))
        recorded = _recorded(event)
        if _consumed_by_retry(chains, recorded, event_id, failed):
            continue
        if position >= len(pending):
            return Mismatch(
                event_index=index,
                event_id=event_id,
                recorded=describe_event(event),
                actual=_describe_end(state, continues),
            )
        actual = pending[position]
        position += 1
        if not recorded.same_as(actual):
            return Mismatch(
                event_index=index,
                event_id=event_id,
                recorded=describe_event(event),
                actual=str(actual),
            )
        if actual.retry and event_id in failed:
            chains.append(_RetryChain(decision=recorded, last_id=event_id, expect="timer"))
    if position < len(pending):
        return Mismatch(
            event_index=_terminal_index(events),
            event_id=None,
            recorded=_describe_recorded_end(events),
            actual=str(pending[position]),
        )
    return _compare_ending(events, state, continues)


def _consumed_by_retry(
    chains: list[_RetryChain], recorded: Decision, event_id: int, failed: set[Any]
) -> bool:
    for chain in chains:
        if event_id <= chain.last_id:
            continue
        if chain.expect == "timer" and recorded.kind == "timer":
            chain.expect, chain.last_id = "attempt", event_id
            return True
        if chain.expect == "attempt" and chain.decision.same_as(recorded):
            chain.last_id = event_id
            chain.expect = "timer" if event_id in failed else ""
            return True
    return False


def _terminal(events: list[dict[str, Any]]) -> tuple[int, str] | None:
    for index, event in enumerate(events):
        kind = event["EventType"]
        if kind == _EXECUTION_COMPLETED:
            status = event.get("OrchestrationStatus")
            name = _STATUS_NAMES.get(status, str(status)) if isinstance(status, int) else status
            return index, str(name or "Completed")
        if kind == _CONTINUE_AS_NEW:
            return index, "ContinuedAsNew"
        if kind == _EXECUTION_FAILED:
            return index, "Failed"
        if kind == _EXECUTION_TERMINATED:
            return index, "Terminated"
    return None


def _terminal_index(events: list[dict[str, Any]]) -> int:
    terminal = _terminal(events)
    return terminal[0] if terminal else len(events)


def _describe_recorded_end(events: list[dict[str, Any]]) -> str:
    terminal = _terminal(events)
    if terminal is None:
        return "no further decision (the instance was waiting)"
    return f"the end of the orchestration ({terminal[1]})"


def _describe_end(state: dict[str, Any], continues: bool) -> str:
    if state.get("error"):
        return f"fail before scheduling it: {_first_line(state['error'])}"
    if continues:
        return "continue as new before scheduling it"
    if state.get("isDone"):
        return "complete before scheduling it"
    return NOT_SCHEDULED


def _compare_ending(
    events: list[dict[str, Any]], state: dict[str, Any], continues: bool
) -> Mismatch | None:
    terminal = _terminal(events)
    if state.get("error"):
        actual = f"fail: {_first_line(str(state['error']))}"
        now = "Failed"
    elif continues:
        actual, now = "continue as new", "ContinuedAsNew"
    elif state.get("isDone"):
        actual, now = "complete", "Completed"
    else:
        actual, now = "keep waiting", "Running"
    if terminal is None:
        if now == "Running":
            return None
        return Mismatch(
            event_index=len(events),
            event_id=None,
            recorded="no further decision (the instance was waiting)",
            actual=actual,
        )
    index, recorded = terminal
    if recorded in {"Terminated", "Canceled"} or recorded == now:
        return None
    return Mismatch(
        event_index=index,
        event_id=None,
        recorded=f"the end of the orchestration ({recorded})",
        actual=actual,
    )


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


# -- command line -------------------------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``durable replay``."""
    parser.add_argument("paths", nargs="+", help="history JSON files or folders of them")
    parser.add_argument(
        "--app",
        default=".",
        help="the app to replay against: function_app.py or an app folder, v1 apps included "
        "(default: the current folder)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print mismatches only")


def run(args: argparse.Namespace) -> int:
    """Replay every history; exit 1 if any decision changed, 2 if a history cannot replay."""
    reports = replay_files(Path(args.app), args.paths)
    for report in reports:
        if not (args.quiet and report.ok):
            print(report)
            for note in report.notes:
                print(f"  note: {note}")
    mismatched = sum(1 for r in reports if r.mismatch is not None)
    errors = sum(1 for r in reports if r.error is not None)
    print(
        f"{len(reports)} replayed, {mismatched} mismatched, {errors} failed to replay",
        file=sys.stderr,
    )
    if mismatched:
        return 1
    return 2 if errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``durable replay`` on its own."""
    from durable_functions.cli import main as cli_main

    return cli_main(["replay", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
