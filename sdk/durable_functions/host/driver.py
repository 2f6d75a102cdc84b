"""The one driver of durable work: episodes, activities and entity batches over a ``Backend``.

An orchestration episode is: claim → ``engine.prepare_episode`` → invoke the
orchestrator through an ``Invoker`` → ``engine.complete_episode`` → commit. The
driver does exactly that for a list of claimed work items, committing them together
(``Backend.complete_orchestrations``, each episode atomically). Its two users add
only what differs:

* the testing toolkit and ``runner.run_until_idle`` step one item at a time in
  virtual time (``step_*``, ``run_until_idle``, with ``Hooks`` to observe);
* the host's ``Dispatcher`` claims batches on its threads, fuses activity results
  into the episodes that consume them, and starts the activities an episode
  schedules on free slots (``Slots``) in the episode's own commit.

Activities run one way (``run_activity``, or ``start_activity`` for a host that does
not block on them), durable HTTP calls (``BuiltIn::HttpActivity``) included; entity
batches likewise (``run_entity_batch``).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from durable_functions._protocol import HTTP_ACTIVITY_NAME
from durable_functions.errors import FunctionNotFoundError, HostError
from durable_functions.host import engine
from durable_functions.host.backend import Backend
from durable_functions.host.clock import Clock
from durable_functions.host.engine import (
    ActivityWorkItem,
    EngineConfig,
    EntityWorkItem,
    EpisodeOutcome,
    InvocationError,
    OrchestrationMessage,
    OrchestrationWorkItem,
)
from durable_functions.host.sessions import SessionCache, SessionOpener

if TYPE_CHECKING:
    from durable_functions.replay import OrchestrationSession

log = logging.getLogger("durable_functions.host")

HttpCall = Callable[[str | None], str]
"""Performs a durable HTTP request (JSON text in, response JSON text out)."""

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


class AsyncInvoker(Invoker, Protocol):
    """An ``Invoker`` that can also start an activity without blocking (the host's app)."""

    def start_activity(self, name: str, input_json: str, pool: Executor) -> Future[str]:
        """Start one activity: sync ones on ``pool``, async ones on the app's loop."""
        ...


class Slots(Protocol):
    """Activity slots a driver may take for the activities an episode schedules."""

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` free slots without waiting; returns how many were taken."""
        ...

    def give_back(self, count: int) -> None:
        """Return ``count`` slots that were taken and not used."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Hooks:
    """Optional observers (the testing toolkit records calls and custom statuses with them)."""

    on_episode: Callable[[OrchestrationWorkItem, EpisodeOutcome], None] | None = None
    on_activity: Callable[[ActivityWorkItem, OrchestrationMessage], None] | None = None


@dataclass(frozen=True, slots=True)
class Committed:
    """One episode of a batch after its commit."""

    item: OrchestrationWorkItem
    outcome: EpisodeOutcome
    started: list[ActivityWorkItem] | Exception
    """The activities claimed for it in its commit (the caller runs them now), or the
    error that undid this episode alone (its messages are claimed again)."""


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True, kw_only=True)
class Episodes:
    """How a driver runs episodes, besides where (backend), what (invoker) and when (clock).

    The host and the test harness differ only here: the harness passes its virtual-time
    ids and its observers; both keep sessions (``None``: every episode replays).
    """

    config: EngineConfig | None = None
    """Engine settings (timer limits, schema versions)."""
    new_id: Callable[[], str] = _new_id
    """Fresh ids (execution ids, entity request ids)."""
    hooks: Hooks | None = None
    """Observers of each committed episode and finished activity."""
    sessions: SessionCache | None = None
    """Orchestrations kept alive between episodes."""


ANY_EPISODES = Episodes()
"""Defaults: engine defaults, random ids, no observers, no sessions."""


def resolve(kind: str, name: str, known: Collection[str]) -> str:
    """The app's own spelling of function ``name`` (names match in any case, as on the
    Functions host).

    Raises:
        FunctionNotFoundError: the app has no such function.
    """
    if name in known:
        return name
    lowered = name.lower()
    for candidate in known:
        if candidate.lower() == lowered:
            return candidate
    raise FunctionNotFoundError(unknown_function(kind, name, known))


def unknown_function(kind: str, name: str, known: Collection[str]) -> str:
    """The message the Functions host gives for a function that is not there."""
    names = ", ".join(sorted(known)) or "none"
    return (
        f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. "
        f"Known {kind} functions: {names}."
    )


# --------------------------------------------------------------------------- episodes


def payload_json(episode: engine.Episode) -> str:
    """The orchestration trigger payload as JSON text.

    The past events' stored JSON text is reused when the work item carries it: only
    the episode's new events are encoded, not the whole history again.
    """
    payload = episode.payload
    assert payload is not None
    past = episode.item.history_json
    rest = {key: value for key, value in payload.items() if key != "history"}
    if past is None or len(past) != len(episode.history) or not rest:
        return json.dumps(payload)
    events = ", ".join((*past, *map(json.dumps, episode.new_events)))
    return f'{{"history": [{events}], {json.dumps(rest)[1:]}'


def run_episode(
    item: OrchestrationWorkItem,
    invoker: Invoker,
    clock: Clock,
    episodes: Episodes = ANY_EPISODES,
) -> tuple[EpisodeOutcome, OrchestrationSession | None]:
    """Prepare, invoke and complete one claimed episode (nothing is committed).

    With ``sessions``, an orchestration kept alive since its last episode gets only the
    events history gained since; otherwise the orchestrator replays the whole history
    (and, when it is one of this SDK's, a new session starts). Returns the outcome and
    the live session to keep once the outcome is committed. The orchestrator's failure,
    or its absence, is data for the engine; only a failure of the host itself raises.
    """
    config, sessions = episodes.config, episodes.sessions
    session = sessions.take(item) if sessions is not None else None
    checked = session.engine if session is not None else None
    in_session = session is not None and session.sdk is not None
    episode = engine.prepare_episode(
        item, now=clock.now(), config=config, session=checked, payload=not in_session
    )
    result: str | Mapping[str, Any] | InvocationError | None = None
    live: OrchestrationSession | None = None
    if episode.payload is not None:
        try:
            name = resolve("orchestrator", episode.instance.name, invoker.known_orchestrators())
        except FunctionNotFoundError as exc:
            result = InvocationError(message=str(exc), error_type=type(exc).__name__)
        else:
            started = time.perf_counter()
            try:
                if in_session:
                    assert session is not None and session.sdk is not None
                    live = session.sdk
                    live.advance([*item.history[live.history_length :], *episode.new_events])
                    result = _session_answer(live)
                else:
                    opener = None
                    if sessions is not None and sessions.settings.enabled:
                        opener = _session_opener(invoker, name)
                    if opener is not None:
                        live = opener(episode.payload)
                        result = _session_answer(live)
                    else:
                        result = invoker.invoke_orchestrator(name, payload_json(episode))
            except Exception as exc:  # the orchestrator's failure is data for the engine
                result = InvocationError.of(exc)
            if log.isEnabledFor(logging.DEBUG):
                elapsed = (time.perf_counter() - started) * 1000
                log.debug(
                    "orchestrator %s (%s) ran in %.1f ms%s",
                    name,
                    item.instance.instance_id,
                    elapsed,
                    " (session)" if in_session else "",
                )
    outcome = engine.complete_episode(
        episode, result, now=clock.now(), new_id=episodes.new_id, session=checked
    )
    return outcome, live


def _session_answer(live: OrchestrationSession) -> str | dict[str, Any]:
    """The episode's state, parsed (no JSON text in process), or what the handler raises."""
    if live.result.exception is None:
        return live.state_dict()
    return live.result.host_response()  # raises the failure, as the Functions handler would


def _session_opener(invoker: Invoker, name: str) -> SessionOpener | None:
    """How to open a session with the orchestrator ``name``, if it is one of this SDK's."""
    find = getattr(invoker, "session_opener", None)
    return None if find is None else find(name)  # type: ignore[no-any-return]


def run_episodes(
    backend: Backend,
    items: Sequence[OrchestrationWorkItem],
    invoker: Invoker,
    clock: Clock,
    episodes: Episodes = ANY_EPISODES,
    *,
    slots: Slots | None = None,
    on_error: Callable[[OrchestrationWorkItem], None] | None = None,
) -> list[Committed]:
    """Run claimed episodes, then commit them together (each atomically).

    An episode that fails inside the host is released unchanged (its messages are
    claimed again). With ``on_error`` that is reported per work item (called inside
    the ``except`` block, so it can log the exception) and the others go on; without
    it the error is raised. Activities the episodes schedule are claimed in the same
    commit on the ``slots`` free now, in episode order; the rest wait in the backend.
    """
    done: list[tuple[OrchestrationWorkItem, EpisodeOutcome]] = []
    live: dict[int, OrchestrationSession | None] = {}
    for item in items:
        try:
            outcome, live[len(done)] = run_episode(item, invoker, clock, episodes)
            done.append((item, outcome))
        except Exception:
            backend.abandon_orchestration(item)
            if on_error is None:
                raise
            on_error(item)
        except BaseException:
            backend.abandon_orchestration(item)
            raise
    if not done:
        return []
    wanted = sum(len(outcome.activities) for _, outcome in done)
    taken = slots.take(wanted) if slots is not None and wanted else 0
    plan: list[tuple[OrchestrationWorkItem, EpisodeOutcome, int]] = []
    left = taken
    for item, outcome in done:
        claim = min(left, len(outcome.activities))
        left -= claim
        plan.append((item, outcome, claim))
    results: list[list[ActivityWorkItem] | Exception] = []
    try:
        results = backend.complete_orchestrations(plan)
    except Exception:
        if on_error is None:
            raise
        for item, _ in done:
            backend.abandon_orchestration(item)
            on_error(item)
        return []
    finally:
        if taken:
            started = sum(len(r) for r in results if isinstance(r, list))
            if taken > started:
                assert slots is not None
                slots.give_back(taken - started)
    committed = [Committed(item, outcome, result) for (item, outcome), result in zip(done, results)]
    sessions, hooks = episodes.sessions, episodes.hooks
    if sessions is not None:
        for index, episode in enumerate(committed):
            if not isinstance(episode.started, Exception):
                sessions.keep(episode.item, episode.outcome, live.get(index))
    if hooks is not None and hooks.on_episode is not None:
        for episode in committed:
            if not isinstance(episode.started, Exception):
                hooks.on_episode(episode.item, episode.outcome)
    return committed


def step_orchestration(
    backend: Backend, invoker: Invoker, clock: Clock, episodes: Episodes = ANY_EPISODES
) -> bool:
    """Run one orchestration episode if an instance has work; False when none has."""
    item = backend.claim_orchestration(clock.now())
    if item is None:
        return False
    for episode in run_episodes(backend, [item], invoker, clock, episodes):
        if isinstance(episode.started, Exception):
            raise episode.started
    return True


# --------------------------------------------------------------------------- activities


def activity_result_message(
    item: ActivityWorkItem, result: str | None, error: BaseException | None, *, now: datetime
) -> OrchestrationMessage:
    """TaskCompleted / TaskFailed for the instance that scheduled the activity (§5.4, §6)."""
    if error is None:
        return engine.activity_completed(item, result, now=now)
    return engine.activity_failed(item, InvocationError.of(error), now=now)


def _activity_call(item: ActivityWorkItem, invoker: Invoker) -> tuple[str, str]:
    """The name and input to invoke ``item`` with (see ``resolve``)."""
    name = resolve("activity", item.name, invoker.known_activities())
    return name, item.input if item.input is not None else "null"


def run_activity(
    item: ActivityWorkItem, invoker: Invoker, clock: Clock, *, http: HttpCall | None = None
) -> OrchestrationMessage:
    """Invoke one claimed activity and build its TaskCompleted/TaskFailed message.

    A durable HTTP call goes to ``http`` (``call_http`` unless a stand-in is given).
    """
    try:
        if item.name == HTTP_ACTIVITY_NAME:
            result = (http or call_http)(item.input)
        else:
            result = invoker.invoke_activity(*_activity_call(item, invoker))
    except Exception as exc:  # an activity's failure goes back to its orchestration
        return activity_result_message(item, None, exc, now=clock.now())
    return activity_result_message(item, result, None, now=clock.now())


def start_activity(
    item: ActivityWorkItem, invoker: AsyncInvoker, pool: Executor, *, http: HttpCall | None = None
) -> Future[str]:
    """``run_activity`` without blocking: the future of its result JSON text.

    Raises what ``run_activity`` would report as the activity's failure when the
    activity cannot even start (unknown name, undecodable input).
    """
    if item.name == HTTP_ACTIVITY_NAME:
        return pool.submit(http or call_http, item.input)
    return invoker.start_activity(*_activity_call(item, invoker), pool)


def step_activity(
    backend: Backend,
    invoker: Invoker,
    clock: Clock,
    *,
    hooks: Hooks | None = None,
    http: HttpCall | None = None,
) -> bool:
    """Run one activity (or durable HTTP call) if one is waiting; False when none is."""
    item = backend.claim_activity()
    if item is None:
        return False
    message = run_activity(item, invoker, clock, http=http)
    backend.complete_activities([(item, message)])
    if hooks and hooks.on_activity:
        hooks.on_activity(item, message)
    return True


# --------------------------------------------------------------------------- entities


def run_entity_batch(item: EntityWorkItem, invoker: Invoker, clock: Clock) -> engine.EntityOutcome:
    """Invoke the entity function for one claimed batch and apply its result."""
    result: str | InvocationError
    try:
        name = resolve("entity", item.entity.name, invoker.known_entities())
    except FunctionNotFoundError as exc:
        result = InvocationError(message=str(exc), error_type=type(exc).__name__)
    else:
        payload = json.dumps(engine.build_entity_payload(item))
        try:
            result = invoker.invoke_entity(name, payload)
        except Exception as exc:  # becomes an error result for every operation
            result = InvocationError.of(exc)
    return engine.complete_entity_batch(item, result, now=clock.now())


def step_entity(backend: Backend, invoker: Invoker, clock: Clock) -> bool:
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


# --------------------------------------------------------------------------- until idle


def run_until_idle(
    backend: Backend,
    invoker: Invoker,
    clock: Clock,
    episodes: Episodes = ANY_EPISODES,
    *,
    http: HttpCall | None = None,
    until: datetime | None = None,
    advance_time: bool = True,
    max_steps: int = 100_000,
    episodes_per_round: int | None = None,
) -> int:
    """Run steps until nothing is runnable; returns how many steps ran.

    Each round drains one kind of work at a time, activities first: results that are
    ready together reach their orchestration in one episode, as on a busy host,
    instead of one replay per result (a 1000-way fan-out would replay 1000 times).
    Then entity batches, then up to ``episodes_per_round`` episodes (all if ``None``).

    When only timers are left and ``advance_time`` is true, the clock waits until
    the next one (a ``VirtualClock`` jumps there) and the run goes on; with ``until``
    it never goes past that time.

    Raises:
        HostError: ``max_steps`` steps ran without reaching idle (an endless loop).
    """
    steps = 0
    while steps < max_steps:
        progressed = 0
        while steps + progressed < max_steps and step_activity(
            backend, invoker, clock, hooks=episodes.hooks, http=http
        ):
            progressed += 1
        while steps + progressed < max_steps and step_entity(backend, invoker, clock):
            progressed += 1
        ran = 0
        while (
            steps + progressed < max_steps
            and (episodes_per_round is None or ran < episodes_per_round)
            and step_orchestration(backend, invoker, clock, episodes)
        ):
            progressed += 1
            ran += 1
        steps += progressed
        if progressed:
            continue
        if not advance_time or not wait_for_next_timer(backend, clock, until=until):
            return steps
    raise HostError(
        f"still busy after {max_steps} steps at {clock.now().isoformat()}: an orchestration "
        "may loop forever (e.g. continue_as_new without a timer)"
    )


def wait_for_next_timer(
    backend: Backend, clock: Clock, *, until: datetime | None = None, stop_at_until: bool = True
) -> bool:
    """Let time pass until the next durable timer (or scheduled message) is due.

    Timers are delayed messages: they fire by becoming visible, so "firing" is
    only waiting. A ``VirtualClock`` jumps. Returns False when no timer is pending
    or the next one is after ``until`` (then the clock stops at ``until``, or stays
    where it is if not ``stop_at_until``).
    """
    due = backend.next_visible_at(clock.now())
    if due is None:
        return False
    if until is not None and due > until:
        if stop_at_until:
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
