"""One orchestration episode: sort the claimed messages, build the payload, apply the answer.

``prepare_episode`` decides what the orchestrator sees; ``complete_episode`` turns its
OrchestratorState into history, status and outgoing work (through the host-side
replay of ``_check``), including the three ways an execution ends: completed,
failed or terminated, and continue-as-new.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from durable_functions._protocol import OUT_OF_PROC_MARKER, ActionType, EventType, RuntimeStatus
from durable_functions.host._check import _Replay
from durable_functions.host._events import (
    failure_details,
    history_event,
    orchestrator_completed_event,
    orchestrator_started_event,
)
from durable_functions.host._messages import new_instance
from durable_functions.host._session import (
    EngineSession,
    apply_flips,
    completion_key,
    flat_actions,
    resumable_actions,
)
from durable_functions.host._types import (
    EngineConfig,
    Episode,
    EpisodeOutcome,
    Event,
    InstanceState,
    InvocationError,
    OrchestrationMessage,
    OrchestrationWorkItem,
)

SESSION_CHECK = os.environ.get("DURABLE_SESSION_CHECK", "") not in ("", "0")
"""Also run the full check whenever a session is used, and fail if the outcomes differ."""


def prepare_episode(
    item: OrchestrationWorkItem,
    *,
    now: datetime,
    config: EngineConfig | None = None,
    session: EngineSession | None = None,
    payload: bool = True,
) -> Episode:
    """Sort the claimed messages and build the orchestration trigger payload (§2).

    Messages for another execution are dropped (DTFx does the same with stale
    work); ExecutionStarted always comes first; while suspended, events other than
    resume/terminate stay queued; a terminate ends the instance without an invocation.
    With a ``session`` that ``matches`` the item, duplicate completions are found
    from its key set instead of a scan of the whole history. ``payload=False`` leaves
    the payload empty (``{}``: the orchestrator runs in a session and gets only the
    new events), which spares copying the whole history.
    """
    config = config or EngineConfig()
    instance = item.instance
    history = item.history  # not copied: a store's HistoryLog is immutable per version
    current = [m for m in item.messages if m.execution_id in (None, instance.execution_id)]
    if instance.runtime_status.is_terminal:
        return Episode(item=item, instance=instance, discard=True)
    started_type = int(EventType.ExecutionStarted)
    if not history:
        starts = [m for m in current if m.event.get("EventType") == started_type]
        others = [m for m in current if m.event.get("EventType") != started_type]
        if not starts:
            # The execution has not started yet (its ExecutionStarted is still queued
            # behind these): keep them for the episode that starts it.
            return Episode(item=item, instance=instance, requeue=tuple(current))
        current = starts[:1] + others
    else:
        current = [m for m in current if m.event.get("EventType") != started_type]
    if session is not None and session.matches(item):
        current = _drop_seen(session.completion_keys(history), current)
    else:
        current = _without_duplicate_completions(history, current)

    suspended = instance.runtime_status is RuntimeStatus.Suspended
    consumed: list[Event] = []
    buffered: list[OrchestrationMessage] = []
    for message in current:
        kind = message.event.get("EventType")
        if kind == EventType.ExecutionTerminated:
            reason = message.event.get("Input")
            return Episode(
                item=item,
                instance=instance,
                new_events=(orchestrator_started_event(now), message.event),
                terminated=reason if reason is not None else "",
            )
        if kind == EventType.ExecutionSuspended:
            if not suspended:
                consumed.append(message.event)
                suspended = True
        elif kind == EventType.ExecutionResumed:
            if suspended:
                consumed.append(message.event)
                suspended = False
                consumed.extend(m.event for m in buffered)
                buffered = []
        elif suspended:
            buffered.append(message)
        else:
            consumed.append(message.event)

    status = instance.runtime_status
    if suspended:
        status = RuntimeStatus.Suspended
    elif status in (RuntimeStatus.Suspended, RuntimeStatus.Pending, RuntimeStatus.ContinuedAsNew):
        status = RuntimeStatus.Running
    episode_instance = instance
    if status is not instance.runtime_status:
        episode_instance = replace(instance, runtime_status=status)
    if not consumed:
        return Episode(item=item, instance=episode_instance, requeue=tuple(buffered))
    new_events = (orchestrator_started_event(now), *consumed)
    built = (
        build_orchestrator_payload(episode_instance, (*history, *new_events), config=config)
        if payload
        else {}
    )
    return Episode(
        item=item,
        instance=episode_instance,
        new_events=new_events,
        requeue=tuple(buffered),
        payload=built,
        config=config,
    )


def _without_duplicate_completions(
    history: Sequence[Event], messages: list[OrchestrationMessage]
) -> list[OrchestrationMessage]:
    """Drop a second completion of the same task (at-least-once delivery after a crash)."""
    seen = {key for key in map(completion_key, history) if key is not None}
    return _drop_seen(seen, messages)


def _drop_seen(
    history_keys: set[tuple[str, int]], messages: list[OrchestrationMessage]
) -> list[OrchestrationMessage]:
    """Keep the messages whose completion is neither in history nor earlier in the batch."""
    seen: set[tuple[str, int]] = set()
    kept: list[OrchestrationMessage] = []
    for message in messages:
        key = completion_key(message.event)
        if key is not None:
            if key in history_keys or key in seen:
                continue
            seen.add(key)
        kept.append(message)
    return kept


def build_orchestrator_payload(
    instance: InstanceState, history: Sequence[Event], *, config: EngineConfig | None = None
) -> dict[str, Any]:
    """The orchestration trigger payload (§2) for the full history of this episode."""
    config = config or EngineConfig()
    started = next((e for e in history if e.get("EventType") == EventType.ExecutionStarted), None)
    raw_input = started.get("Input") if started else instance.input
    value: Any = None
    if raw_input is not None:
        try:
            value = json.loads(raw_input)
        except ValueError:
            value = raw_input
    return {
        "history": list(history),
        "input": value,
        "instanceId": instance.instance_id,
        "isReplaying": bool(started.get("IsPlayed")) if started else False,
        "parentInstanceId": instance.parent.instance_id if instance.parent else None,
        "upperSchemaVersion": config.upper_schema_version,
        "upperSchemaVersionNew": config.upper_schema_version_new,
        "longRunningTimerIntervalDuration": config.long_running_timer_interval,
        "maximumShortTimerDuration": config.maximum_short_timer_duration,
        "defaultHttpAsyncRequestSleepTimeMillseconds": config.default_http_async_sleep_ms,
    }


def parse_orchestrator_error(text: str) -> tuple[str, dict[str, Any] | None]:
    """Split an orchestrator's exception text at ``$OutOfProcData$`` (§4.5).

    Returns the error text and the OrchestratorState carried after the marker,
    or ``(text, None)`` when the text carries none (a plain function failure).
    """
    head, marker, tail = text.partition(OUT_OF_PROC_MARKER)
    if not marker:
        return text, None
    try:
        state = json.loads(tail)
    except ValueError:
        return head, None
    if not isinstance(state, dict):
        return head, None
    error = state.get("error")
    return (error if isinstance(error, str) and error else head), state


def complete_episode(
    episode: Episode,
    result: str | Mapping[str, Any] | InvocationError | None,
    *,
    now: datetime,
    new_id: Callable[[], str],
    session: EngineSession | None = None,
) -> EpisodeOutcome:
    """Turn the orchestrator's answer into history, status and outgoing work.

    ``result`` is the OrchestratorState JSON text the orchestrator returned (or the
    state already parsed, from an in-process session), an ``InvocationError`` when it
    raised, or ``None`` when the episode needed no invocation (``episode.payload is None``).

    ``session`` is the previous episode's ``outcome.session``: when it matches the
    episode's history, only the new events and actions are checked; the outcome is
    the same as without it. Once the orchestrator ran, the session is used up and
    ``outcome.session`` is the one for the next episode, or ``None`` when that one
    needs a full check (the execution ended, failed or continued as new, or the check
    could not be kept); an episode with no invocation hands the session back as is.
    """
    if session is not None and not session.matches(episode.item):
        session = None
    if session is None or not SESSION_CHECK:
        return _complete(episode, result, now=now, new_id=new_id, session=session)
    given: list[str] = []

    def recording() -> str:
        value = new_id()
        given.append(value)
        return value

    outcome = _complete(episode, result, now=now, new_id=recording, session=session)
    full = _complete(episode, result, now=now, new_id=_again(given, new_id), session=None)
    differences = [
        f"{field.name}:\n  with the session:    {getattr(outcome, field.name)!r}"
        f"\n  with a full check:   {getattr(full, field.name)!r}"
        for field in fields(EpisodeOutcome)
        if field.name != "session" and getattr(outcome, field.name) != getattr(full, field.name)
    ]
    if differences:
        raise AssertionError(
            f"DURABLE_SESSION_CHECK: instance {episode.instance.instance_id!r}, history of "
            f"{len(episode.history)} events: the session's outcome differs from a full "
            "check's\n" + "\n".join(differences)
        )
    return outcome


def _again(given: list[str], new_id: Callable[[], str]) -> Callable[[], str]:
    """Hand out the ids the first run got again, then fresh ones."""
    replayed: Iterator[str] = iter(given)

    def next_id() -> str:
        for value in replayed:
            return value
        return new_id()

    return next_id


def _complete(
    episode: Episode,
    result: str | Mapping[str, Any] | InvocationError | None,
    *,
    now: datetime,
    new_id: Callable[[], str],
    session: EngineSession | None,
) -> EpisodeOutcome:
    instance = episode.instance
    if episode.discard:
        return EpisodeOutcome(instance=instance, history_added=())
    if episode.terminated is not None:
        return _terminate(episode, episode.terminated, now=now)
    if episode.payload is None:  # nothing consumed: the history, and so the session, stay
        return EpisodeOutcome(
            instance=instance, history_added=(), messages=episode.requeue, session=session
        )

    state: dict[str, Any] | None
    error: str | None = None
    error_type = "Exception"
    details: str | None = None
    if isinstance(result, InvocationError):
        error, state = parse_orchestrator_error(result.message)
        error_type, details = result.error_type, result.details
    elif result is None:
        state, error = None, "the orchestrator function returned nothing"
    elif isinstance(result, Mapping):  # parsed already: an in-process session's state
        state = dict(result)
        if state.get("error"):
            error = str(state["error"])
    else:
        try:
            parsed = json.loads(result)
        except ValueError as exc:
            parsed, error = None, f"the orchestrator function returned invalid JSON: {exc}"
        if isinstance(parsed, str):
            # Some callers hand over the JSON string the worker would have carried.
            try:
                parsed = json.loads(parsed)
            except ValueError:
                parsed = None
        state = parsed if isinstance(parsed, dict) else None
        if state is None and error is None:
            error = "the orchestrator function returned something other than an OrchestratorState"
        elif state is not None and state.get("error"):
            error = str(state["error"])

    custom_status = instance.custom_status
    if state is not None:
        custom = state.get("customStatus")
        custom_status = None if custom is None else json.dumps(custom, separators=(",", ":"))
    sim: _Replay | None = None
    keys: set[tuple[str, int]] | None = None
    if session is not None:
        if state is None:
            session.take()  # used up: the execution fails
        else:
            sim, keys = _resume(session, episode, state, now=now, new_id=new_id)
    if sim is None:
        history = (*episode.history, *episode.new_events)
        fresh = functools.partial(
            _Replay,
            instance=instance,
            history=history,
            now=now,
            new_id=new_id,
            default_version=episode.config.default_version,
        )
        sim = fresh()
        if state is not None:
            try:
                sim.run(_top_level_actions(state))
            except _MALFORMED as exc:
                # A malformed action must fail its instance, not the host that runs it.
                sim = fresh()
                if error is None:
                    error = f"the orchestrator sent an invalid action: {exc}"
                    error_type = "ValueError"
    replay_failed = error is None and sim.nondeterminism is not None
    if replay_failed:
        error, error_type = sim.nondeterminism, "NonDeterminismError"

    added: list[Event] = list(episode.new_events)
    common: dict[str, Any] = {"state": state}
    if not replay_failed:
        # Work decided before a non-determinism was found is not trustworthy: drop it.
        added.extend(sim.new_events())
        common["new_instances"] = tuple(sim.new_instances)
        common["entity_messages"] = tuple(sim.entity_messages)
    instance = replace(instance, custom_status=custom_status, last_updated_time=now)
    done = bool(state and state.get("isDone"))
    end = functools.partial(_close, instance, added, event_id=sim.counter, now=now, common=common)
    if error is not None:
        reason = f"Orchestrator function '{instance.name}' failed: {error}"
        failure = failure_details(error_type, error, details)
        return end(RuntimeStatus.Failed, reason=reason, failure=failure)
    if done and sim.continue_as_new is not None:
        result = sim.continue_as_new.get("input")
        added.extend(_closing(RuntimeStatus.ContinuedAsNew, result, sim.continue_as_new_id, now))
        return _continue_as_new(
            episode, sim, instance, now=now, new_id=new_id, common=common, closed=added
        )
    if done:
        output = state.get("output") if state else None
        output_json = None if output is None else json.dumps(output, separators=(",", ":"))
        return end(RuntimeStatus.Completed, result=output_json)
    added.append(orchestrator_completed_event(now))
    return EpisodeOutcome(
        instance=instance,
        history_added=tuple(added),
        messages=episode.requeue,
        activities=tuple(sim.activities),
        timers=tuple(sim.timers),
        cancel_timers=tuple(sim.cancel_timers),
        session=_next_session(sim, episode, added, keys),
        **common,
    )


_MALFORMED = (ValueError, TypeError, KeyError, AttributeError, OverflowError)
"""What a malformed action raises in the check."""


def _resume(
    session: EngineSession,
    episode: Episode,
    state: Mapping[str, Any],
    *,
    now: datetime,
    new_id: Callable[[], str],
) -> tuple[_Replay | None, set[tuple[str, int]] | None]:
    """The session's replay continued by this episode, or ``None`` for a full check."""
    replay, keys = session.take()
    replay.touched = 0
    actions = flat_actions(state, replay.cursor)
    if actions is None:
        actions = _top_level_actions(state)
    flips = resumable_actions(replay, actions)
    if flips is None:
        return None, None  # the consumed actions changed: the full check says how
    apply_flips(replay, flips)
    try:
        replay.resume(
            actions,
            episode.new_events,
            len(episode.history),
            instance=episode.instance,
            now=now,
            new_id=new_id,
        )
    except _MALFORMED:
        return None, None  # the full check meets the same action and reports it
    if keys is not None:
        keys.update(key for key in map(completion_key, episode.new_events) if key is not None)
    return replay, keys


def _next_session(
    sim: _Replay, episode: Episode, added: list[Event], keys: set[tuple[str, int]] | None
) -> EngineSession | None:
    """The session for the next episode, whose history is this one's plus ``added``."""
    if not sim.resumable():
        return None
    sim.rollback()
    return EngineSession(
        sim,
        instance_id=episode.instance.instance_id,
        execution_id=episode.instance.execution_id,
        history_length=len(episode.history) + len(added),
        last_event=added[-1],
        keys=keys,
    )


def _terminate(episode: Episode, reason: str, *, now: datetime) -> EpisodeOutcome:
    instance = replace(episode.instance, last_updated_time=now)
    return _close(
        instance, list(episode.new_events), RuntimeStatus.Terminated, reason=reason, now=now
    )


def _close(
    instance: InstanceState,
    added: list[Event],
    status: RuntimeStatus,
    *,
    now: datetime,
    result: str | None = None,
    reason: str | None = None,
    failure: dict[str, Any] | None = None,
    event_id: int = -1,
    common: dict[str, Any] | None = None,
) -> EpisodeOutcome:
    """End the execution in ``status``: one shape for completed, failed and terminated.

    A failed or terminated execution's ``reason`` is its result, and as JSON its output.
    """
    output = result
    if reason is not None:
        result, output = reason, json.dumps(reason)
    added.extend(_closing(status, result, event_id, now, failure))
    instance = replace(instance, runtime_status=status, output=output)
    if failure is not None:
        instance = replace(instance, failure=failure)
    return EpisodeOutcome(
        instance=instance,
        history_added=tuple(added),
        messages=tuple(_notify_parent(instance, reason=reason, now=now)),
        **(common or {}),
    )


def _closing(
    status: RuntimeStatus,
    result: str | None,
    event_id: int,
    now: datetime,
    failure: dict[str, Any] | None = None,
) -> tuple[Event, Event]:
    """The two events that end an execution in ``status``: ExecutionCompleted (ContinueAsNew
    for a continue-as-new), then OrchestratorCompleted."""
    kind = EventType.ExecutionCompleted
    if status is RuntimeStatus.ContinuedAsNew:
        kind = EventType.ContinueAsNew
    fields = {"OrchestrationStatus": status.dtfx_value, "Result": result, "FailureDetails": failure}
    closed = history_event(kind, timestamp=now, event_id=event_id, **fields)
    return closed, orchestrator_completed_event(now)


def _notify_parent(
    instance: InstanceState, *, reason: str | None, now: datetime
) -> list[OrchestrationMessage]:
    """SubOrchestrationInstanceCompleted/Failed for the parent, if there is one."""
    parent = instance.parent
    if parent is None:
        return []
    if instance.runtime_status is RuntimeStatus.Completed:
        event = history_event(
            EventType.SubOrchestrationInstanceCompleted,
            timestamp=now,
            TaskScheduledId=parent.task_schedule_id,
            Result=instance.output,
        )
    else:
        failure = instance.failure or failure_details("Exception", reason or "", None)
        event = history_event(
            EventType.SubOrchestrationInstanceFailed,
            timestamp=now,
            TaskScheduledId=parent.task_schedule_id,
            Reason=reason,
            Details=failure.get("StackTrace"),
            FailureDetails=failure,
        )
    return [
        OrchestrationMessage(
            instance_id=parent.instance_id, execution_id=parent.execution_id, event=event
        )
    ]


def _continue_as_new(
    episode: Episode,
    sim: _Replay,
    instance: InstanceState,
    *,
    now: datetime,
    new_id: Callable[[], str],
    common: dict[str, Any],
    closed: list[Event],
) -> EpisodeOutcome:
    action = sim.continue_as_new or {}
    action_input = action.get("input")
    input_json = None if action_input is None else json.dumps(action_input)
    execution_id = new_id()
    fresh = new_instance(
        instance.name,
        instance.instance_id,
        input_json,
        now=now,
        execution_id=execution_id,
        version=instance.version,
        parent=instance.parent,
    )
    carried = [
        OrchestrationMessage(
            instance_id=instance.instance_id, execution_id=execution_id, event=event
        )
        for event in (
            sim.unprocessed_events((*episode.history, *episode.new_events))
            if episode.config.preserve_unprocessed_events
            else []
        )
    ]
    requeued = [replace(m, execution_id=None) for m in episode.requeue]
    # The new execution's row: ContinuedAsNew until its first episode, created when the first was.
    next_instance = replace(
        fresh.instance,
        runtime_status=RuntimeStatus.ContinuedAsNew,
        created_time=instance.created_time,
    )
    return EpisodeOutcome(
        instance=next_instance,
        history_added=(),
        new_execution=True,
        closed_history=tuple(closed),
        messages=(fresh.message, *carried, *requeued),
        **common,
    )


def _top_level_actions(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The actions in the order the host replays them (§4.3).

    V2/V3 (``schemaVersion`` ≥ 1): one list, compounds kept as compounds. V1: one
    inner list per yield; a list of several actions was a compound whose type the
    SDK did not send, so it is treated as a WhenAll group.
    """
    raw = state.get("actions") or []
    schema = state.get("schemaVersion") or 0
    top: list[dict[str, Any]] = []
    for group in raw:
        if not isinstance(group, list):
            if isinstance(group, dict):
                top.append(group)
            continue
        actions = [a for a in group if isinstance(a, dict)]
        if schema:
            top.extend(actions)
        elif len(actions) == 1:
            top.append(actions[0])
        elif actions:
            top.append({"actionType": int(ActionType.WhenAll), "compoundActions": actions})
    return top
