"""A small stand-in for the Functions host + Durable Task extension.

It plays the host's side of the out-of-process protocol (protocol.md §2, §3, §5.10, §5.11, §7.4):
it builds the orchestration payload for an episode, reads the OrchestratorState the SDK returns,
writes the history events DTFx would write for the new actions (sequence ids in scheduling
order), and then decides — from a seeded `random.Random` — which pending work completes next, in
which order, and whether it fails.

Retry bookkeeping (the timer after a failed attempt, the re-scheduled attempt) takes a sequence
id at the moment the SDK processes the triggering event. The simulator delivers at most one such
event per episode and always first, so those ids come right before the ids of the actions the
episode schedules; that is the order DTFx produces too.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Json = Any
UTC = dt.timezone.utc


@dataclass(frozen=True)
class HostProfile:
    """What the storage provider and extension version put into the payload."""

    name: str
    upper_schema: int
    upper_schema_new: int | None
    long_interval: str | None  # .NET TimeSpan text, None = key omitted
    max_short: str | None
    sets_is_played: bool


PROFILES = (
    HostProfile("azure-storage", 1, 2, "3.00:00:00", "6.00:00:00", True),
    HostProfile("no-timer-limit", 1, 2, "00:00:00", "00:00:00", False),
    HostProfile("older-host", 1, None, None, None, False),
)

LONG_INTERVAL = dt.timedelta(days=3)
MAX_SHORT = dt.timedelta(days=6)


def compact(value: Json) -> str:
    """How the host stores a result: compact JSON text."""
    return json.dumps(value, separators=(",", ":"))


def host_timestamp(moment: dt.datetime, extra_tick: int) -> str:
    """Newtonsoft's ISO text: up to 7 fraction digits, trailing zeros trimmed (protocol §3.1)."""
    fraction = f"{moment.microsecond:06d}{extra_tick}".rstrip("0")
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def parse_fire_at(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass
class Retry:
    first_retry_ms: int
    max_attempts: int
    attempts: int = 1
    waiting_on_timer: bool = False


@dataclass(eq=False)
class Work:
    """Something the host will complete later: keyed as the SDK keys it (protocol §3.3)."""

    kind: str  # activity | suborchestration | timer | entity | event
    key: int | str
    name: str = ""
    input: str | None = None
    instance_id: str = ""
    fire_at: dt.datetime | None = None
    retry: Retry | None = None
    action_index: int = -1

    @property
    def retry_event(self) -> bool:
        return self.retry is not None


@dataclass
class Outcome:
    """What one SDK returned for one payload."""

    kind: str  # state | failed (raised with $OutOfProcData$) | crashed (raised without it)
    state: str | None = None
    message: str | None = None

    @property
    def parsed(self) -> Json:
        return None if self.state is None else json.loads(self.state)


OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"


def invoke(handler: Any, payload: str) -> Outcome:
    """Call an orchestrator handler the way the worker does and classify the result."""
    try:
        text = handler(payload)
    except Exception as exc:
        message = str(exc)
        if OUT_OF_PROC_LABEL in message:
            head, _, state = message.partition(OUT_OF_PROC_LABEL)
            return Outcome("failed", state, head)
        return Outcome("crashed", None, message)
    return Outcome("state", text)


@dataclass
class HostSimulator:
    """Drives one orchestration instance episode by episode.

    Usage: `payload = sim.start()`, then repeatedly `sim.apply(outcome)` and
    `payload = sim.next_payload()` until it returns None.
    """

    orchestrator_name: str
    input: Json
    profile: HostProfile
    rng: random.Random
    instance_id: str = "inst-1"
    max_episodes: int = 60
    history: list[dict[str, Any]] = field(default_factory=list)
    pending: list[Work] = field(default_factory=list)
    next_id: int = 0
    generation: int = 0
    episodes: int = 0
    finished: bool = False
    _input_text: str | None = None
    _now: dt.datetime = field(default_factory=lambda: dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    _seen_actions: int = 0
    _timers: list[Work] = field(default_factory=list)
    _episode_events: list[dict[str, Any]] = field(default_factory=list)
    _bookkeeping: list[dict[str, Any]] = field(default_factory=list)
    continued_as_new: bool = False

    # ---- events -------------------------------------------------------------------------
    def _event(self, event_type: int, event_id: int = -1, **fields: Any) -> dict[str, Any]:
        moment = self._now + dt.timedelta(microseconds=self.rng.randrange(0, 900))
        event = {
            "EventType": event_type,
            "EventId": event_id,
            "IsPlayed": False,
            "Timestamp": host_timestamp(moment, self.rng.randrange(10)),
        }
        event.update(fields)
        return event

    def _orchestrator_started(self) -> dict[str, Any]:
        return {
            "EventType": 12,
            "EventId": -1,
            "IsPlayed": False,
            "Timestamp": host_timestamp(self._now, self.rng.choice([0, 0, 3, 7])),
        }

    # ---- payloads -----------------------------------------------------------------------
    def start(self) -> str:
        """First episode of a (new) execution: OrchestratorStarted + ExecutionStarted."""
        self.history = []
        self.pending = []
        self._timers = []
        self.next_id = 0
        self._seen_actions = 0
        if self._input_text is None:
            self._input_text = json.dumps(self.input)
        started = self._event(
            0,
            OrchestrationInstance={
                "InstanceId": self.instance_id,
                "ExecutionId": f"exec-{self.generation}",
            },
            ParentInstance=None,
            Name=self.orchestrator_name,
            Version="",
            Input=json.dumps(self._input_text),
            Tags=None,
        )
        self._episode_events = [self._orchestrator_started(), started]
        self._bookkeeping = []
        return self._payload()

    def _payload(self) -> str:
        self.episodes += 1
        history = self.history + self._episode_events
        body: dict[str, Any] = {
            "history": history,
            "input": self._input_text,
            "instanceId": self.instance_id,
            "isReplaying": bool(len(history) > 1 and history[1]["IsPlayed"]),
            "parentInstanceId": None,
            "upperSchemaVersion": self.profile.upper_schema,
        }
        if self.profile.upper_schema_new is not None:
            body["upperSchemaVersionNew"] = self.profile.upper_schema_new
        if self.profile.long_interval is not None:
            body["longRunningTimerIntervalDuration"] = self.profile.long_interval
            body["maximumShortTimerDuration"] = self.profile.max_short
        body["defaultHttpAsyncRequestSleepTimeMillseconds"] = 30000
        return json.dumps(body)

    def next_payload(self) -> str | None:
        """Deliver a random batch of completions as the next episode (None: nothing to do)."""
        if self.finished or not self.pending or self.episodes >= self.max_episodes:
            return None
        chosen = self.rng.sample(self.pending, self.rng.randint(1, min(3, len(self.pending))))
        retries = [w for w in chosen if w.retry_event]
        chosen = [w for w in chosen if not w.retry_event]
        if retries:
            chosen.insert(0, retries[0])
        self._now += dt.timedelta(
            seconds=self.rng.choice([0, 1, 17, 3600]),
            microseconds=self.rng.choice([0, 1, 123456]),
        )
        for work in chosen:
            if work.fire_at is not None and work.fire_at > self._now:
                self._now = work.fire_at
        self._bookkeeping = []
        delivered = [self._complete(work) for work in chosen]
        self._episode_events = [self._orchestrator_started(), *delivered]
        return self._payload()

    def _complete(self, work: Work) -> dict[str, Any]:
        if work.kind == "timer" or (work.retry is not None and work.retry.waiting_on_timer):
            return self._fire_timer(work)
        if work.kind == "event":
            self.pending.remove(work)
            value = self._value()
            return self._event(15, Name=work.key, Input=json.dumps(value))
        if work.kind == "entity":
            self.pending.remove(work)
            return self._entity_response(work)
        return self._finish_task(work)

    def _value(self) -> Json:
        return self.rng.choice(
            [None, 0, 1, -7, 2**53 + 1, 1.5, "", "ok", "snow ☃", [1, "a"], {"k": [True, None]}]
        )

    def _failure_text(self, work: Work) -> tuple[str, str | None]:
        kind = "Activity" if work.kind == "activity" else "Orchestrator"
        message = self.rng.choice(["boom", "Value must be > 0", "é\nnext line", ""])
        details = self.rng.choice([None, '{"$type":"System.Exception","Message":"x"}', ""])
        return f"{kind} function '{work.name}' failed: {message}", details

    def _finish_task(self, work: Work) -> dict[str, Any]:
        fails = self.rng.random() < 0.35
        completed, failed = (5, 6) if work.kind == "activity" else (8, 9)
        assert isinstance(work.key, int)
        if not fails:
            self.pending.remove(work)
            return self._event(completed, TaskScheduledId=work.key, Result=compact(self._value()))
        reason, details = self._failure_text(work)
        event = self._event(failed, TaskScheduledId=work.key, Reason=reason, Details=details)
        if work.retry is None:
            self.pending.remove(work)
            return event
        # DTFx's retry interceptor: a durable timer after every failed attempt (protocol §5.10).
        timer_id = self._take_id()
        fire_at = self._now + dt.timedelta(milliseconds=work.retry.first_retry_ms)
        self._bookkeeping.append(self._event(10, timer_id, FireAt=host_timestamp(fire_at, 0)))
        work.key = timer_id
        work.fire_at = fire_at
        work.retry.waiting_on_timer = True
        return event

    def _fire_timer(self, work: Work) -> dict[str, Any]:
        assert work.fire_at is not None
        fired = self._event(11, TimerId=work.key, FireAt=host_timestamp(work.fire_at, 0))
        retry = work.retry
        if retry is None or retry.attempts >= retry.max_attempts:
            self.pending.remove(work)
            return fired
        new_id = self._take_id()
        retry.attempts += 1
        retry.waiting_on_timer = False
        self._bookkeeping.append(self._scheduled_event(work, new_id))
        work.key = new_id
        work.fire_at = None
        return fired

    def _entity_response(self, work: Work) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.65:
            response = {"result": json.dumps(self._value())}
        elif roll < 0.9:
            message = self.rng.choice(["no such op", "counter overflow ☃"])
            response = {"result": json.dumps(message), "exceptionType": "System.Exception"}
        else:
            response = {"result": "Timeout value of 00:05:00 was exceeded by function: x"}
        return self._event(15, Name=work.key, Input=json.dumps(response))

    # ---- reading the SDK's answer -------------------------------------------------------
    def _take_id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def _scheduled_event(self, work: Work, event_id: int) -> dict[str, Any]:
        if work.kind == "activity":
            return self._event(4, event_id, Name=work.name, Version="", Input=work.input)
        return self._event(
            7, event_id, Name=work.name, Version="", InstanceId=work.instance_id, Input=work.input
        )

    def apply(self, outcome: Outcome) -> None:
        """Turn the SDK's answer into history, as the extension's shim and DTFx would."""
        if outcome.kind != "state":
            # Failed orchestrations stop; the actions of a failed episode are not followed up.
            self.finished = True
            return
        state = outcome.parsed
        flat = list(_flatten(state["actions"]))
        for work in self._timers:
            if flat[work.action_index].get("isCanceled"):
                self.pending = [w for w in self.pending if w is not work]
        scheduled: list[dict[str, Any]] = list(self._bookkeeping)
        continued: str | None = None
        for index in range(self._seen_actions, len(flat)):
            action = flat[index]
            event, continue_input = self._schedule(action, index)
            if event is not None:
                scheduled.append(event)
            if continue_input is not None:
                continued = continue_input
        self._seen_actions = len(flat)
        self.history.extend(self._episode_events)
        self.history.extend(scheduled)
        self.history.append(self._event(13))
        if self.profile.sets_is_played:
            for event in self.history:
                event["IsPlayed"] = True
        if state["isDone"]:
            self.finished = continued is None
            if continued is not None:
                self.generation += 1
                self._input_text = continued
                self.finished = False
                self.continued_as_new = True
            self.pending = []

    def restart(self) -> str:
        """Start the next execution after continue-as-new (same instance id, new input)."""
        self.continued_as_new = False
        self._now += dt.timedelta(seconds=1)
        return self.start()

    def _schedule(
        self, action: dict[str, Any], index: int
    ) -> tuple[dict[str, Any] | None, str | None]:
        kind = action["actionType"]
        if kind == 6:  # WaitForExternalEvent: keyed by name, takes no sequence id
            self.pending.append(Work("event", action["externalEventName"]))
            return None, None
        event_id = self._take_id()
        if kind in (0, 1):
            work = Work("activity", event_id, name=action["functionName"], input=action["input"])
            if kind == 1:
                options = action["retryOptions"]
                work.retry = Retry(
                    options["firstRetryIntervalInMilliseconds"], options["maxNumberOfAttempts"]
                )
            self.pending.append(work)
            return self._scheduled_event(work, event_id), None
        if kind in (2, 3):
            work = Work(
                "suborchestration",
                event_id,
                name=action["functionName"],
                input=action["input"],
                instance_id=action["instanceId"] or f"{self.instance_id}:{event_id}",
            )
            if kind == 3:
                options = action["retryOptions"]
                work.retry = Retry(
                    options["firstRetryIntervalInMilliseconds"], options["maxNumberOfAttempts"]
                )
            self.pending.append(work)
            return self._scheduled_event(work, event_id), None
        if kind == 4:
            return None, action["input"]
        if kind == 5:
            fire_at = parse_fire_at(action["fireAt"])
            work = Work("timer", event_id, fire_at=fire_at, action_index=index)
            self._timers.append(work)
            if not action["isCanceled"]:
                self.pending.append(work)
            return self._event(10, event_id, FireAt=host_timestamp(fire_at, 0)), None
        if kind in (7, 9):
            request_id = f"{self.rng.getrandbits(128):032x}"
            request: dict[str, Any] = {
                "op": action["operation"],
                "input": action["input"],
                "id": request_id,
                "parent": self.instance_id,
                "parentExecution": f"exec-{self.generation}",
            }
            if kind == 9:
                request["signal"] = True
            else:
                self.pending.append(Work("entity", request_id))
            sent = self._event(
                14, event_id, InstanceId=action["instanceId"], Name="op", Input=json.dumps(request)
            )
            return sent, None
        raise AssertionError(f"the simulator does not model actionType {kind}: {action}")


def _flatten(actions: list[Any]) -> Iterator[dict[str, Any]]:
    """Atomic actions in scheduling order (V2/V3 shape: compounds hold only new children)."""
    for item in actions:
        if isinstance(item, list):
            yield from _flatten(item)
        elif item["actionType"] in (11, 12):
            yield from _flatten(item["compoundActions"])
        else:
            yield item
