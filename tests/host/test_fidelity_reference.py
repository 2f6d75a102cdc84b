"""Histories the local host writes replay under the reference SDK to the same decisions.

The sample app in ``fidelity_app/`` is written against the reference SDK's API and run by
``durable start``. For every finished instance we read the raw history the host stored and
cut it at each episode (each OrchestratorStarted): the payload of that episode is the
history up to the end of the events the episode consumed, built with the engine's own
payload builder. Feeding it to ``azure.durable_functions.Orchestrator.create(fn)`` and to
ours, on the very same generator function, must give the same OrchestratorState; and the
actions that are new in an episode must be exactly the scheduling events the host recorded
after it, in sequence-id order. A few orchestrators also run behind a trigger that keeps
the payloads the host really sent, to show the rebuilt payloads are those, text for text.

The host replays every episode here (``extendedSessionsEnabled: false`` in the app's
host.json): that is what the reference does, and ``introspect`` returns its
``is_replaying`` flags, which in a session are those of the live run (all false).
Sessions are checked against full replay by tests/differential/test_sessions.py and by
the suite's ``DURABLE_SESSION_CHECK=1`` run.

Where docs/compatibility.md lists a deliberate difference that a run shows, the reference's
decision is normalised before the comparison (``DOCUMENTED_DIFFERENCES``).

The raw history holds the current execution only: after continue-as-new the earlier ones
are gone from the store. The recorded payloads still show them, so continue-as-new is
checked on those (every execution's episodes, and the next execution's input).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
import pytest
from apps.harness import Host, launch

import durable_functions as ours
from durable_functions.host.engine import (
    OUT_OF_PROC_MARKER,
    EngineConfig,
    InstanceState,
    ParentInstance,
    build_orchestrator_payload,
    parse_timestamp,
)

pytestmark = [pytest.mark.reference, pytest.mark.e2e]

reference = pytest.importorskip("azure.durable_functions")

APP = Path(__file__).parent / "fidelity_app"
API = "/runtime/webhooks/durabletask"

# History event types (protocol §3.2) and action types (§4.2).
EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_SENT = 14
EVENT_RAISED = 15
EXECUTION_SUSPENDED = 19
EXECUTION_RESUMED = 20
EXECUTION_REWOUND = 21
SCHEDULING_EVENTS = {TASK_SCHEDULED, SUB_ORCHESTRATION_CREATED, TIMER_CREATED, EVENT_SENT}
EPISODE_OUTPUTS = SCHEDULING_EVENTS | {EXECUTION_COMPLETED, ORCHESTRATOR_COMPLETED}
COMPLETED, FAILED = 1, 3  # ExecutionCompleted.OrchestrationStatus (DTFx numbering)

CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY = 0, 1
CALL_SUB_ORCHESTRATOR, CALL_SUB_ORCHESTRATOR_WITH_RETRY = 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_FOR_EXTERNAL_EVENT = 4, 5, 6
CALL_ENTITY, CALL_HTTP, SIGNAL_ENTITY = 7, 8, 9
WHEN_ANY, WHEN_ALL = 11, 12
RECORDED_AS = {
    CALL_ACTIVITY: TASK_SCHEDULED,
    CALL_ACTIVITY_WITH_RETRY: TASK_SCHEDULED,
    CALL_HTTP: TASK_SCHEDULED,
    CALL_SUB_ORCHESTRATOR: SUB_ORCHESTRATION_CREATED,
    CALL_SUB_ORCHESTRATOR_WITH_RETRY: SUB_ORCHESTRATION_CREATED,
    CREATE_TIMER: TIMER_CREATED,
    CALL_ENTITY: EVENT_SENT,
    SIGNAL_ENTITY: EVENT_SENT,
}


# ----------------------------------------------------------------------------- the sample runs


@dataclass
class Run:
    """One finished instance as the host left it."""

    case: str
    orchestrator: str
    raw: dict[str, Any]
    """The ``history/raw`` answer."""
    status: dict[str, Any]
    """The ``GET instances/{id}`` answer."""
    sent: list[str]
    """Payloads the host sent, as a ``recorded_*`` orchestrator kept them (else empty)."""

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.raw["history"])


@dataclass
class Scenario:
    """How to drive one sample instance, and the history it must produce to cover its feature."""

    orchestrator: str
    input: Any = None
    """The orchestration input, or a function of the host that makes it."""
    drive: Callable[[Host, str], None] | None = None
    """Runs after the start: e.g. raises an event once the instance waits for it."""
    covers: set[int] = field(default_factory=set)
    """Event types the history must hold, so the case exercises what it claims to."""
    ends: str = "Completed"


def _raw(host: Host, instance_id: str) -> dict[str, Any]:
    reply = host.request("GET", f"{API}/instances/{instance_id}/history/raw")
    assert reply.status == 200, (reply.status, reply.body)
    return dict(reply.json())


def _wait_for(host: Host, what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    host.wait_for(what, check, timeout)


def _episode_closed_with(host: Host, instance_id: str, event_type: int) -> bool:
    """True once an episode recorded ``event_type`` and was committed (it waits now)."""
    history = _raw(host, instance_id)["history"]
    kinds = [e["EventType"] for e in history]
    return event_type in kinds and kinds[-1] == ORCHESTRATOR_COMPLETED


def _raise(host: Host, instance_id: str, name: str, value: Any) -> None:
    path = f"{API}/instances/{instance_id}/raiseEvent/{name}"
    reply = host.request("POST", path, json_body=value)
    assert reply.status == 202, (reply.status, reply.body)


def _approve(host: Host, instance_id: str) -> None:
    def waiting() -> bool:
        status = host.status(instance_id).json()
        return bool(status["customStatus"] == "waiting for approval")

    _wait_for(host, "the approval wait", waiting)
    _wait_for(host, "the committed episode", lambda: _episode_closed_with(host, instance_id, 0))
    _raise(host, instance_id, "approval", {"by": "Ada", "ok": True})


def _approve_while_suspended(host: Host, instance_id: str) -> None:
    """Suspend the waiting instance, raise the event, then resume: it is delivered after."""
    _wait_for(host, "the committed episode", lambda: _episode_closed_with(host, instance_id, 0))
    base = f"{API}/instances/{instance_id}"
    assert host.request("POST", f"{base}/suspend?reason=pause").status == 202
    host.wait(instance_id, until={"Suspended"})
    _raise(host, instance_id, "approval", {"by": "Grace", "ok": True})
    assert host.request("POST", f"{base}/resume?reason=go").status == 202


def _early(host: Host, instance_id: str) -> None:
    """Raise the event while the instance's timer still runs, so no wait is pending yet."""
    _wait_for(host, "the timer", lambda: _episode_closed_with(host, instance_id, TIMER_CREATED))
    _raise(host, instance_id, "early", "first")


def _bonus(host: Host, instance_id: str) -> None:
    """Raise the event while the first execution only waits for its timer."""
    _wait_for(host, "the timer", lambda: _episode_closed_with(host, instance_id, TIMER_CREATED))
    _raise(host, instance_id, "bonus", 42)


def _rewind(host: Host, instance_id: str) -> None:
    """Let the instance fail, then rewind it."""
    assert host.wait(instance_id)["runtimeStatus"] == "Failed"
    reply = host.request("POST", f"{API}/instances/{instance_id}/rewind?reason=again")
    assert reply.status == 202, (reply.status, reply.body)


def _two_events(host: Host, instance_id: str) -> None:
    """Raise two events of one name once both waits are pending."""
    _wait_for(host, "the waits", lambda: _episode_closed_with(host, instance_id, 0))
    _raise(host, instance_id, "x", 1)
    _raise(host, instance_id, "x", 2)


def _go(host: Host, instance_id: str) -> None:
    _wait_for(
        host,
        "the race's timer",
        lambda: _episode_closed_with(host, instance_id, TIMER_CREATED),
    )
    _raise(host, instance_id, "go", "now")


SCENARIOS: dict[str, Scenario] = {
    "chaining": Scenario("hello_chain", covers={TASK_SCHEDULED, TASK_COMPLETED}),
    "fan_out_fan_in": Scenario(
        "fan_out_fan_in", input=[f"city {n}" for n in range(20)], covers={TASK_COMPLETED}
    ),
    "retry": Scenario("retry_once", covers={TASK_FAILED, TIMER_CREATED, TIMER_FIRED}),
    "sub_orchestration": Scenario(
        "parent_of_chain", covers={SUB_ORCHESTRATION_CREATED, SUB_ORCHESTRATION_COMPLETED}
    ),
    "durable_timer": Scenario("durable_timer", covers={TIMER_CREATED, TIMER_FIRED}),
    "external_event": Scenario("approval", drive=_approve, covers={EVENT_RAISED}),
    "entity": Scenario("entity_counter", covers={EVENT_SENT, EVENT_RAISED}),
    "custom_status": Scenario("custom_status", covers={TASK_COMPLETED}),
    "continue_as_new": Scenario("counter_loop", input=0, covers={TASK_COMPLETED}),
    "race_event_wins": Scenario("race", input=30, drive=_go, covers={EVENT_RAISED}),
    "race_timer_wins": Scenario("race", input=1, covers={TIMER_FIRED}),
    "caught_failure": Scenario("compensate", covers={TASK_FAILED}),
    "retry_exhausted": Scenario(
        "retry_exhausted", covers={TASK_FAILED, TIMER_FIRED, EXECUTION_COMPLETED}
    ),
    "entity_error": Scenario("entity_error", covers={EVENT_SENT, EVENT_RAISED}),
    "http_call": Scenario(
        "http_ping", input=lambda host: f"{host.base}/api/ping", covers={TASK_COMPLETED}
    ),
    "suspend_resume": Scenario(
        "approval",
        drive=_approve_while_suspended,
        covers={EXECUTION_SUSPENDED, EXECUTION_RESUMED, EVENT_RAISED},
    ),
    "early_event": Scenario("early_event", drive=_early, covers={EVENT_RAISED, TIMER_FIRED}),
    "clock_and_ids": Scenario("clock_and_ids", covers={TASK_COMPLETED}),
    "parallel_sub_orchestrations": Scenario(
        "sub_fan_out", covers={SUB_ORCHESTRATION_CREATED, SUB_ORCHESTRATION_COMPLETED}
    ),
    "parallel_timers": Scenario("timers", covers={TIMER_CREATED, TIMER_FIRED}),
    "carried_event": Scenario("carry_over", input=0, drive=_bonus, covers={EVENT_RAISED}),
    "odd_values": Scenario("odd_values", covers={TASK_COMPLETED}),
    "unhandled_failure": Scenario("unhandled_failure", covers={TASK_FAILED}, ends="Failed"),
    "concurrent_retries": Scenario(
        "concurrent_retries", covers={TASK_FAILED, TIMER_FIRED, TASK_COMPLETED}
    ),
    "entity_and_activity": Scenario("entity_and_activity", covers={EVENT_SENT, TASK_COMPLETED}),
    "sub_orchestration_retry": Scenario(
        "sub_orchestration_retry", covers={SUB_ORCHESTRATION_FAILED, TIMER_FIRED}
    ),
    "rewind": Scenario("rewound", drive=_rewind, covers={TASK_COMPLETED, EXECUTION_REWOUND}),
    "context_fields": Scenario("introspect_parent", covers={SUB_ORCHESTRATION_COMPLETED}),
    "concurrent_waits": Scenario("two_waits", drive=_two_events, covers={EVENT_RAISED}),
    # The same orchestrators behind a trigger that keeps the payloads the host sends.
    "recorded/chaining": Scenario("recorded_hello_chain", covers={TASK_COMPLETED}),
    "recorded/retry": Scenario("recorded_retry_once", covers={TASK_FAILED, TIMER_FIRED}),
    "recorded/entity": Scenario("recorded_entity_counter", covers={EVENT_SENT, EVENT_RAISED}),
    "recorded/external_event": Scenario("recorded_approval", drive=_approve, covers={EVENT_RAISED}),
    "recorded/sub_orchestration": Scenario(
        "recorded_parent_of_chain", covers={SUB_ORCHESTRATION_COMPLETED}
    ),
    "recorded/continue_as_new": Scenario("recorded_counter_loop", input=0, covers={TASK_COMPLETED}),
    "recorded/carried_event": Scenario(
        "recorded_carry_over", input=0, drive=_bonus, covers={EVENT_RAISED}
    ),
}
RECORDED = [case for case in SCENARIOS if case.startswith("recorded/")]
CONTINUED = ["recorded/continue_as_new", "recorded/carried_event"]
# Sub-orchestrations are checked as cases of their own: (parent case, sequence id, covers).
CHILDREN: dict[str, tuple[str, int, set[int]]] = {
    "sub_orchestration/child": ("sub_orchestration", 0, {TASK_COMPLETED}),
    "recorded/sub_orchestration/child": ("recorded/sub_orchestration", 0, {TASK_COMPLETED}),
    "parallel_sub_orchestrations/child_0": ("parallel_sub_orchestrations", 0, {TASK_COMPLETED}),
    "parallel_sub_orchestrations/child_1": ("parallel_sub_orchestrations", 1, {TASK_COMPLETED}),
    "parallel_sub_orchestrations/named_child": (
        "parallel_sub_orchestrations",
        2,
        {TASK_COMPLETED},
    ),
    "context_fields/child": ("context_fields", 0, {TASK_COMPLETED, TIMER_FIRED}),
    "sub_orchestration_retry/failed_child": ("sub_orchestration_retry", 0, {TASK_FAILED}),
    "sub_orchestration_retry/retried_child": ("sub_orchestration_retry", 2, {TASK_COMPLETED}),
}
CASES = [*SCENARIOS, *CHILDREN]


def _served_first_in_first_out(reference_state: dict[str, Any]) -> dict[str, Any]:
    """docs/compatibility.md, Replay, "External events are consumed once, first in first out":
    the reference serves concurrent waits for one name last-in-first-out, so its two waits
    get the events the other way round."""
    if "output" in reference_state:
        return {**reference_state, "output": reference_state["output"][::-1]}
    return reference_state


DOCUMENTED_DIFFERENCES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "concurrent_waits": _served_first_in_first_out,
}


def _copy_app(dest: Path) -> Path:
    target = dest / "fidelity_app"
    shutil.copytree(
        APP, target, ignore=shutil.ignore_patterns("__pycache__", ".durable", "*.failed-once")
    )
    return target


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every scenario run to completion on one host, all at once (timers overlap)."""
    root = tmp_path_factory.mktemp("fidelity")
    app_dir = _copy_app(root)
    host = launch(app_dir, root / "hub.sqlite3")
    try:
        ids: dict[str, str] = {}
        for case, scenario in SCENARIOS.items():
            value = scenario.input(host) if callable(scenario.input) else scenario.input
            instance_id = "fid-" + case.replace("/", "-")
            ids[case] = host.start(scenario.orchestrator, value, instance_id=instance_id)
        for case, scenario in SCENARIOS.items():
            if scenario.drive is not None:
                scenario.drive(host, ids[case])
        result: dict[str, Run] = {}
        for case, scenario in SCENARIOS.items():
            status = host.wait(ids[case])
            assert status["runtimeStatus"] == scenario.ends, (case, status, host.tail())
            sent = app_dir / "payloads" / f"{ids[case]}.jsonl"
            lines = sent.read_text(encoding="utf-8").splitlines() if sent.exists() else []
            result[case] = Run(case, scenario.orchestrator, _raw(host, ids[case]), status, lines)
        for case, (parent, task_id, _) in CHILDREN.items():
            created = next(
                e
                for e in result[parent].history
                if e["EventType"] == SUB_ORCHESTRATION_CREATED and e["EventId"] == task_id
            )
            status = host.wait(created["InstanceId"])
            raw = _raw(host, created["InstanceId"])
            result[case] = Run(case, created["Name"], raw, status, [])
        yield result
    finally:
        host.stop()


@pytest.fixture(scope="module")
def app_module() -> ModuleType:
    """The sample app imported in this process, under a name no other test uses."""
    spec = importlib.util.spec_from_file_location("fidelity_function_app", APP / "function_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- episodes


@dataclass(frozen=True)
class Episode:
    """One episode cut out of a recorded history."""

    number: int
    started: dict[str, Any]
    """Its OrchestratorStarted event (the episode's clock)."""
    payload_history: list[dict[str, Any]]
    """Past events, OrchestratorStarted and the events the episode consumed."""
    consumed: list[dict[str, Any]]
    recorded: list[dict[str, Any]]
    """What the host appended after running it, up to and including OrchestratorCompleted."""


def episodes(history: list[dict[str, Any]]) -> list[Episode]:
    """Cut a history at every OrchestratorStarted into (payload, consumed, recorded)."""
    starts = [i for i, e in enumerate(history) if e["EventType"] == ORCHESTRATOR_STARTED]
    assert starts and starts[0] == 0, "a history opens with OrchestratorStarted"
    result = []
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(history)
        block = history[start:end]
        assert block[-1]["EventType"] == ORCHESTRATOR_COMPLETED, (number, block)
        cut = next(i for i, e in enumerate(block) if e["EventType"] in EPISODE_OUTPUTS)
        recorded = block[cut:]
        assert all(e["EventType"] in EPISODE_OUTPUTS for e in recorded), (
            f"episode {number}: consumed events after the episode's own events: {block}"
        )
        result.append(
            Episode(
                number=number,
                started=block[0],
                payload_history=history[: start + cut],
                consumed=block[1:cut],
                recorded=recorded,
            )
        )
    return result


def instance_state(raw: dict[str, Any]) -> InstanceState:
    """The instance fields the payload builder reads, recovered from ExecutionStarted."""
    started = next(e for e in raw["history"] if e["EventType"] == EXECUTION_STARTED)
    parent_json = started.get("ParentInstance")
    parent = None
    if parent_json:
        parent = ParentInstance(
            instance_id=parent_json["OrchestrationInstance"]["InstanceId"],
            execution_id=parent_json["OrchestrationInstance"]["ExecutionId"],
            name=parent_json["Name"],
            version=parent_json.get("Version"),
            task_schedule_id=parent_json["TaskScheduleId"],
        )
    created = parse_timestamp(started["Timestamp"])
    return InstanceState(
        instance_id=raw["instanceId"],
        execution_id=raw["executionId"],
        name=raw["name"],
        version=started.get("Version"),
        created_time=created,
        last_updated_time=created,
        parent=parent,
    )


def payload_text(run: Run, episode: Episode) -> str:
    """The trigger payload exactly as the host sent it for this episode."""
    # The host's dispatcher runs with the default EngineConfig.
    payload = build_orchestrator_payload(
        instance_state(run.raw), episode.payload_history, config=EngineConfig()
    )
    return json.dumps(payload)


def reply_text(sdk: ModuleType, fn: Callable[..., Any], text: str) -> str:
    """One SDK's reply to the payload, through the worker's context type.

    A failing orchestrator raises with the state after ``$OutOfProcData$:``; the host
    reads the state from there (protocol §4.5), and so do we.
    """
    handler = sdk.Orchestrator.create(fn)
    with warnings.catch_warnings():
        # azure.functions warns about df_loads without expected_type: not a decision.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"azure\.functions")
        try:
            return str(handler(func.OrchestrationContext(text)))
        except Exception as exc:
            _, marker, state = str(exc).partition(OUT_OF_PROC_MARKER)
            if not marker:
                raise
            return state


def generator(app: ModuleType, orchestrator: str) -> Callable[..., Any]:
    """The plain generator function behind an orchestrator name (``recorded_x`` runs ``x``)."""
    return getattr(app, orchestrator.removeprefix("recorded_"))  # type: ignore[no-any-return]


def decide(sdk: ModuleType, fn: Callable[..., Any], text: str) -> dict[str, Any]:
    """One SDK's OrchestratorState for the payload, parsed."""
    return dict(json.loads(reply_text(sdk, fn, text)))


def decisions(
    run: Run, app: ModuleType
) -> Iterator[tuple[Episode, dict[str, Any], dict[str, Any]]]:
    """(episode, the reference's decision, ours) for every episode of the run.

    The reference's decision comes normalised where a documented difference applies.
    """
    fn = generator(app, run.orchestrator)
    normalise = DOCUMENTED_DIFFERENCES.get(run.case, lambda state: state)
    for episode in episodes(run.history):
        text = payload_text(run, episode)
        yield episode, normalise(decide(reference, fn, text)), decide(ours, fn, text)


def atomic_actions(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Atomic actions depth-first in order (the order the SDK assigned sequence ids)."""
    out: list[dict[str, Any]] = []

    def walk(action: dict[str, Any]) -> None:
        if action["actionType"] in (WHEN_ANY, WHEN_ALL):
            for child in action["compoundActions"]:
                walk(child)
        else:
            out.append(action)

    for group in state["actions"]:
        for action in group:
            walk(action)
    return out


def _without_cancel_flag(action: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in action.items() if k != "isCanceled"}


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", CASES)
def test_the_sample_run_exercises_its_feature(case: str, runs: dict[str, Run]) -> None:
    """Each case's history holds the events of the feature it is meant to cover."""
    covers = SCENARIOS[case].covers if case in SCENARIOS else CHILDREN[case][2]
    kinds = {e["EventType"] for e in runs[case].history}
    assert covers <= kinds, (case, sorted(covers - kinds))


@pytest.mark.parametrize("case", RECORDED)
def test_the_payload_rebuilt_for_each_episode_is_the_one_the_host_sent(
    case: str, runs: dict[str, Run]
) -> None:
    """What the other tests replay is, text for text, what the orchestrator received."""
    run = runs[case]
    rebuilt = [payload_text(run, episode) for episode in episodes(run.history)]
    assert rebuilt == executions(run.sent)[-1]


def execution_id(payload: str) -> str:
    """The execution a payload belongs to (its ExecutionStarted's)."""
    history = json.loads(payload)["history"]
    started = next(e for e in history if e["EventType"] == EXECUTION_STARTED)
    return str(started["OrchestrationInstance"]["ExecutionId"])


def executions(payloads: list[str]) -> list[list[str]]:
    """Payloads grouped by execution, in the order they were sent."""
    groups: dict[str, list[str]] = {}
    for payload in payloads:
        groups.setdefault(execution_id(payload), []).append(payload)
    return list(groups.values())


@pytest.mark.parametrize("case", RECORDED)
def test_each_payload_extends_the_history_the_previous_one_carried(
    case: str, runs: dict[str, Run]
) -> None:
    """Within one execution the host only appends: episode n's history starts with n-1's."""
    for execution in executions(runs[case].sent):
        histories = [json.loads(payload)["history"] for payload in execution]
        for before, after in zip(histories, histories[1:]):
            assert after[: len(before)] == before


@pytest.mark.parametrize("case", CONTINUED)
def test_every_execution_replays_to_the_same_decisions_under_both_sdks(
    case: str, runs: dict[str, Run], app_module: ModuleType
) -> None:
    """Executions before a continue-as-new are gone from the store, not from what was sent."""
    run = runs[case]
    fn = generator(app_module, run.orchestrator)
    assert len(executions(run.sent)) >= 2
    for number, payload in enumerate(run.sent):
        assert reply_text(ours, fn, payload) == reply_text(reference, fn, payload), number


@pytest.mark.parametrize("case", CONTINUED)
def test_continue_as_new_starts_the_next_execution_with_the_input_it_decided(
    case: str, runs: dict[str, Run], app_module: ModuleType
) -> None:
    run = runs[case]
    fn = generator(app_module, run.orchestrator)
    groups = executions(run.sent)
    for current, following in zip(groups, groups[1:]):
        state = decide(ours, fn, current[-1])
        assert state["isDone"] is True
        [action] = [a for a in atomic_actions(state) if a["actionType"] == CONTINUE_AS_NEW]
        history = json.loads(following[0])["history"]
        started = next(e for e in history if e["EventType"] == EXECUTION_STARTED)
        assert json.loads(started["Input"]) == action["input"]


@pytest.mark.parametrize("case", CASES)
def test_an_episode_that_fires_a_timer_starts_no_earlier_than_its_fire_time(
    case: str, runs: dict[str, Run]
) -> None:
    """After a timer, ``current_utc_datetime`` is at or past its deadline, as with DTFx."""
    for episode in episodes(runs[case].history):
        started = parse_timestamp(episode.started["Timestamp"])
        for event in episode.consumed:
            if event["EventType"] == TIMER_FIRED:
                assert started >= parse_timestamp(event["FireAt"]), (case, episode.number)


@pytest.mark.parametrize("case", CASES)
def test_episode_start_times_never_go_backwards(case: str, runs: dict[str, Run]) -> None:
    starts = [parse_timestamp(e.started["Timestamp"]) for e in episodes(runs[case].history)]
    assert starts == sorted(starts)


def test_the_early_event_is_recorded_before_anyone_waits_for_it(runs: dict[str, Run]) -> None:
    """The buffered-event case: EventRaised lands in history before the timer fires."""
    kinds = [e["EventType"] for e in runs["early_event"].history]
    assert kinds.index(EVENT_RAISED) < kinds.index(TIMER_FIRED)


@pytest.mark.parametrize("case", CASES)
def test_every_episode_replays_to_the_same_decisions_under_both_sdks(
    case: str, runs: dict[str, Run], app_module: ModuleType
) -> None:
    """The reference SDK and ours return the same OrchestratorState for each recorded episode."""
    compared = 0
    for episode, theirs, mine in decisions(runs[case], app_module):
        assert mine == theirs, f"episode {episode.number} of {case}"
        compared += 1
    assert compared > 0


@pytest.mark.parametrize("case", CASES)
def test_new_actions_of_each_episode_are_what_the_host_recorded_after_it(
    case: str, runs: dict[str, Run], app_module: ModuleType
) -> None:
    """Actions new in an episode match its scheduling events, sequence id by sequence id."""
    previous: list[dict[str, Any]] = []
    next_id = 0
    retry_attempts: dict[int, _Retry] = {}
    retry_timers: dict[int, _Retry] = {}
    for episode, state, _ in decisions(runs[case], app_module):
        where = f"episode {episode.number} of {case}"
        actions = atomic_actions(state)
        assert [_without_cancel_flag(a) for a in actions[: len(previous)]] == [
            _without_cancel_flag(a) for a in previous
        ], f"{where}: earlier actions changed"
        new = [a for a in actions[len(previous) :] if a["actionType"] in RECORDED_AS]
        previous = actions

        scheduled = [e for e in episode.recorded if e["EventType"] in SCHEDULING_EVENTS]
        ids = [e["EventId"] for e in scheduled]
        assert ids == list(range(next_id, next_id + len(ids))), f"{where}: sequence ids {ids}"
        next_id += len(ids)

        # DTFx's retry interceptor schedules without a new action: a failed attempt gets a
        # timer (also after the last attempt); a fired retry timer gets the next attempt
        # while attempts remain (protocol §5.10).
        remaining = list(scheduled)
        for event in episode.consumed:
            failed = (
                event["EventType"] in (TASK_FAILED, SUB_ORCHESTRATION_FAILED)
                and event["TaskScheduledId"] in retry_attempts
            )
            if failed:
                retry = retry_attempts[event["TaskScheduledId"]]
                retry_timers[_take(remaining, TIMER_CREATED, where)["EventId"]] = retry
            if event["EventType"] == TIMER_FIRED and event["TimerId"] in retry_timers:
                retry = retry_timers[event["TimerId"]]
                if retry.attempts < retry.action["retryOptions"]["maxNumberOfAttempts"]:
                    attempt = _take(remaining, RECORDED_AS[retry.action["actionType"]], where)
                    _assert_recorded(retry.action, attempt, where)
                    retry_attempts[attempt["EventId"]] = retry
                    retry.attempts += 1

        assert len(remaining) == len(new), f"{where}: {new} vs {remaining}"
        for action, event in zip(new, remaining):
            _assert_recorded(action, event, where)
            if action["actionType"] in (CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR_WITH_RETRY):
                retry_attempts[event["EventId"]] = _Retry(action)


@dataclass
class _Retry:
    """A retried activity or sub-orchestration as DTFx's interceptor sees it."""

    action: dict[str, Any]
    attempts: int = 1


def _take(events: list[dict[str, Any]], event_type: int, where: str) -> dict[str, Any]:
    found = next((e for e in events if e["EventType"] == event_type), None)
    assert found is not None, f"{where}: no event of type {event_type} for a retry"
    events.remove(found)
    return found


def _assert_recorded(action: dict[str, Any], event: dict[str, Any], where: str) -> None:
    """One action against the event the host recorded for it."""
    kind = action["actionType"]
    assert event["EventType"] == RECORDED_AS[kind], (where, action, event)
    if kind in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY):
        assert event["Name"] == action["functionName"], (where, action, event)
        assert json.loads(event["Input"]) == json.loads(action["input"]), (where, action, event)
    elif kind == CALL_HTTP:
        assert event["Name"] == "BuiltIn::HttpActivity", (where, event)
        assert json.loads(event["Input"]) == action["httpRequest"], (where, action, event)
    elif kind in (CALL_SUB_ORCHESTRATOR, CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        assert event["Name"] == action["functionName"], (where, action, event)
        assert json.loads(event["Input"]) == json.loads(action["input"]), (where, action, event)
        if action.get("instanceId"):
            assert event["InstanceId"] == action["instanceId"], (where, action, event)
    elif kind == CREATE_TIMER:
        fire_at = datetime.strptime(action["fireAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
        recorded = parse_timestamp(event["FireAt"]).replace(tzinfo=None)
        assert recorded == fire_at, (where, action, event)
    elif kind in (CALL_ENTITY, SIGNAL_ENTITY):
        request = json.loads(event["Input"])
        assert event["InstanceId"] == action["instanceId"], (where, action, event)
        assert event["Name"] == request["op"] == action["operation"], (where, action, event)
        assert json.loads(json.loads(request["input"])) == json.loads(action["input"]), where
        assert request.get("signal", False) == (kind == SIGNAL_ENTITY), (where, request)


@pytest.mark.parametrize("case", CASES)
def test_the_last_episode_returns_the_result_the_host_recorded(
    case: str, runs: dict[str, Run], app_module: ModuleType
) -> None:
    """The final decision is done, and its output is ExecutionCompleted's Result."""
    *_, (episode, state, _) = decisions(runs[case], app_module)
    completed = [e for e in episode.recorded if e["EventType"] == EXECUTION_COMPLETED]
    assert len(completed) == 1
    if "error" in state:
        # A failed orchestrator is never done; the host fails the instance (protocol §4.5).
        assert completed[0]["OrchestrationStatus"] == FAILED
        assert state["error"] in completed[0]["FailureDetails"]["ErrorMessage"]
        assert state["error"] in runs[case].status["output"]
    else:
        assert state["isDone"] is True
        assert completed[0]["OrchestrationStatus"] == COMPLETED
        assert json.loads(completed[0]["Result"]) == state.get("output")
        assert runs[case].status["output"] == state.get("output")


@pytest.mark.parametrize("case", ["custom_status", "external_event"])
def test_the_last_episode_sets_the_custom_status_the_host_reports(
    case: str, runs: dict[str, Run], app_module: ModuleType
) -> None:
    *_, (_, state, _) = decisions(runs[case], app_module)
    assert "customStatus" in state
    assert runs[case].status["customStatus"] == state["customStatus"]


def test_the_race_won_by_the_event_cancels_its_timer(
    runs: dict[str, Run], app_module: ModuleType
) -> None:
    """The losing timer comes back with ``isCanceled`` in the decisions both SDKs make."""
    *_, (_, theirs, mine) = decisions(runs["race_event_wins"], app_module)
    timers = [a for a in atomic_actions(mine) if a["actionType"] == CREATE_TIMER]
    assert [t["isCanceled"] for t in timers] == [True]
    assert mine == theirs


@pytest.mark.parametrize("case", [c for c in CASES if c not in DOCUMENTED_DIFFERENCES])
def test_our_reply_text_is_byte_identical_to_the_reference_s(
    case: str, runs: dict[str, Run], app_module: ModuleType
) -> None:
    """Not only the same JSON: the same text, key order and separators included."""
    run = runs[case]
    fn = generator(app_module, run.orchestrator)
    for episode in episodes(run.history):
        text = payload_text(run, episode)
        assert reply_text(ours, fn, text) == reply_text(reference, fn, text), episode.number


@pytest.mark.parametrize("case", list(DOCUMENTED_DIFFERENCES))
def test_a_documented_difference_is_really_there_before_normalising(
    case: str, runs: dict[str, Run], app_module: ModuleType
) -> None:
    """Each normalisation is needed: without it the last decisions differ."""
    run = runs[case]
    fn = generator(app_module, run.orchestrator)
    last = payload_text(run, episodes(run.history)[-1])
    theirs, mine = decide(reference, fn, last), decide(ours, fn, last)
    assert mine != theirs
    assert mine == DOCUMENTED_DIFFERENCES[case](theirs)
