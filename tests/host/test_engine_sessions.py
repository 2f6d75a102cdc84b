"""Engine sessions: an episode checked from the previous episode's session gives the very
outcome of a full check, in O(new) work; anything unusual drops back to a full check."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import durable_functions
from durable_functions.host import _episode, engine
from durable_functions.host.engine import (
    EngineSession,
    EpisodeOutcome,
    EventType,
    OrchestrationMessage,
    OrchestrationWorkItem,
    RuntimeStatus,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def same_outcome(with_session: EpisodeOutcome, full: EpisodeOutcome) -> None:
    """Every field but the session itself is equal."""
    for field in dataclasses.fields(EpisodeOutcome):
        if field.name != "session":
            assert getattr(with_session, field.name) == getattr(full, field.name), field.name


def replaying(given: list[str], new_id: Callable[[], str]) -> Callable[[], str]:
    """The ids the first run got, again (a full check asks for the same ones)."""
    again: Iterator[str] = iter(given)
    return lambda: next(again, None) or new_id()


class Driver:
    """One instance driven episode by episode; each episode runs with and without a session."""

    def __init__(self, *, input_json: str | None = None, compare_every: int = 1) -> None:
        self.compare_every = compare_every
        """Run the full check too on every n-th episode (each one is O(history))."""
        self.episodes = 0
        self.now = T0
        self._ids = (f"id-{n}" for n in range(1_000_000))
        started = engine.new_instance(
            "orch", "abc", input_json, now=self.now, execution_id=self.new_id()
        )
        self.instance = started.instance
        self.history: tuple[dict[str, Any], ...] = ()
        self.inbox: list[OrchestrationMessage] = [started.message]
        self.session: EngineSession | None = None
        self.sessions_used = 0
        self.touched: list[int] = []

    def new_id(self) -> str:
        return next(self._ids)

    def send(self, event: dict[str, Any]) -> None:
        self.inbox.append(
            OrchestrationMessage(
                instance_id="abc", execution_id=self.instance.execution_id, event=event
            )
        )

    def episode(self, state: dict[str, Any] | str, *, advance: int = 1) -> EpisodeOutcome:
        item = OrchestrationWorkItem(
            instance=self.instance, history=self.history, messages=tuple(self.inbox)
        )
        self.inbox = []
        session = self.session
        if session is not None:
            assert session.matches(item)
            self.sessions_used += 1
        episode = engine.prepare_episode(item, now=self.now, session=session)
        full_episode = episode
        if (self.episodes + 1) % self.compare_every == 0:
            full_episode = engine.prepare_episode(item, now=self.now)
            assert episode == full_episode
        result = state if isinstance(state, str) else json.dumps(state)
        given: list[str] = []

        def recording() -> str:
            given.append(self.new_id())
            return given[-1]

        outcome = engine.complete_episode(
            episode, result, now=self.now, new_id=recording, session=session
        )
        self.episodes += 1
        if self.episodes % self.compare_every == 0 or outcome.finished:
            full = engine.complete_episode(
                full_episode, result, now=self.now, new_id=replaying(given, self.new_id)
            )
            same_outcome(outcome, full)
        if session is not None:
            assert not session.matches(item), "a session is used up by complete_episode"
        self.session = outcome.session
        if self.session is not None:
            self.touched.append(self.session.touched)
        if outcome.finished or outcome.new_execution:
            assert self.session is None
        self.instance = outcome.instance
        if outcome.new_execution:
            self.history = ()
            self.inbox.extend(m for m in outcome.messages if m.instance_id == "abc")
        else:
            self.history = self.history + outcome.history_added
        self.now += timedelta(seconds=advance)
        return outcome


def v3(*actions: dict[str, Any], done: bool = False, **extra: Any) -> dict[str, Any]:
    return {"isDone": done, "schemaVersion": 2, "actions": [list(actions)], **extra}


def activity(name: str, value: Any = None) -> dict[str, Any]:
    return {"actionType": 0, "functionName": name, "input": json.dumps(value)}


def timer(at: datetime, *, canceled: bool = False) -> dict[str, Any]:
    return {"actionType": 5, "fireAt": engine.format_timestamp(at), "isCanceled": canceled}


def wait(name: str) -> dict[str, Any]:
    return {"actionType": 6, "externalEventName": name}


def any_of(*children: dict[str, Any]) -> dict[str, Any]:
    return {"actionType": 11, "compoundActions": list(children)}


def all_of(*children: dict[str, Any]) -> dict[str, Any]:
    return {"actionType": 12, "compoundActions": list(children)}


def done(driver: Driver, outcome: EpisodeOutcome, value: str = "1") -> None:
    """Complete every activity the outcome scheduled."""
    for work in outcome.activities:
        driver.send(engine.task_completed_event(work.task_id, value, timestamp=driver.now))


# --------------------------------------------------------------------------- chains


def test_a_chain_of_2000_episodes_costs_the_same_check_work_per_episode() -> None:
    driver = Driver(compare_every=250)
    actions: list[dict[str, Any]] = []
    steps = 2000
    for step in range(steps):
        actions.append(activity("step", step))
        outcome = driver.episode(v3(*actions))
        assert [work.task_id for work in outcome.activities] == [step]
        done(driver, outcome)
    outcome = driver.episode(v3(*actions, done=True, output=steps))
    assert outcome.instance.runtime_status is RuntimeStatus.Completed
    assert driver.sessions_used == steps
    # The check touches the new events and new actions only: the same handful every
    # episode, where a full check touches all 5 events and 1 action per earlier step.
    assert max(driver.touched[1:]) <= 4
    assert driver.touched[-1] == driver.touched[1]


def test_a_full_check_touches_the_whole_history() -> None:
    driver = Driver()
    actions: list[dict[str, Any]] = []
    for step in range(50):
        actions.append(activity("step", step))
        driver.session = None  # no session passed: every episode is a full check
        outcome = driver.episode(v3(*actions))
        done(driver, outcome)
    assert outcome.session is not None and outcome.session.touched > 5 * 49


def test_the_duplicate_check_uses_the_session_keys() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    done(driver, outcome)
    first = driver.inbox[0]
    driver.episode(v3(activity("a"), activity("b")))
    driver.inbox.append(first)  # delivered again after a crash
    driver.send(engine.task_completed_event(1, '"b"', timestamp=driver.now))
    driver.inbox.append(first)
    item = OrchestrationWorkItem(
        instance=driver.instance, history=driver.history, messages=tuple(driver.inbox)
    )
    assert driver.session is not None
    episode = engine.prepare_episode(item, now=driver.now, session=driver.session)
    assert [e["EventType"] for e in episode.new_events] == [
        EventType.OrchestratorStarted,
        EventType.TaskCompleted,
    ]
    outcome = driver.episode(v3(activity("a"), activity("b"), done=True, output=2))
    assert outcome.instance.runtime_status is RuntimeStatus.Completed


# --------------------------------------------------------------------------- shapes


def test_retries_groups_children_entities_events_and_timers_with_a_session() -> None:
    driver = Driver()
    retry = {
        "actionType": 1,
        "functionName": "flaky",
        "input": "1",
        "retryOptions": {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 3},
    }
    call = {"actionType": 7, "instanceId": "@counter@k", "operation": "add", "input": 1}
    signal = {"actionType": 9, "instanceId": "@counter@k", "operation": "reset", "input": None}
    child = {"actionType": 2, "functionName": "child", "input": None, "instanceId": None}
    actions = [signal, all_of(retry, activity("plain"), child)]
    outcome = driver.episode(v3(*actions, customStatus={"stage": 1}))
    assert [work.task_id for work in outcome.activities] == [1, 2]
    assert len(outcome.new_instances) == 1 and len(outcome.entity_messages) == 1
    failure = engine.failure_details("ValueError", "boom", None)
    driver.send(
        engine.task_failed_event(1, reason="boom", details=None, failure=failure, timestamp=T0)
    )
    driver.send(engine.task_completed_event(2, "2", timestamp=driver.now))
    outcome = driver.episode(v3(*actions, customStatus={"stage": 2}))
    (retry_timer,) = outcome.timers
    driver.inbox.append(retry_timer.message)
    outcome = driver.episode(v3(*actions))
    assert [work.task_id for work in outcome.activities] == [5]
    driver.send(engine.task_completed_event(5, "3", timestamp=driver.now))
    driver.send(
        engine.history_event(
            EventType.SubOrchestrationInstanceCompleted,
            timestamp=driver.now,
            TaskScheduledId=3,
            Result="4",
        )
    )
    actions.append(call)
    outcome = driver.episode(v3(*actions))
    (request,) = outcome.entity_messages
    driver.send(
        engine.event_raised_event(
            request.request["id"], json.dumps({"result": "5"}), timestamp=driver.now
        )
    )
    actions.append(wait("go"))
    driver.episode(v3(*actions))
    driver.inbox.append(engine.raise_event_message("abc", "go", '"x"', now=driver.now))
    actions.append(timer(driver.now + timedelta(hours=1)))
    outcome = driver.episode(v3(*actions))
    (fired,) = outcome.timers
    driver.inbox.append(fired.message)
    outcome = driver.episode(v3(*actions, done=True, output="ok"))
    assert outcome.instance.runtime_status is RuntimeStatus.Completed
    assert driver.sessions_used == 6
    assert max(driver.touched[1:]) <= 8


def test_the_sequential_model_disagreeing_with_the_sdk_is_found_with_a_session() -> None:
    """An entity call sent next to a pending retry: the retry timer takes the call's id."""
    driver = Driver()
    retry = {
        "actionType": 1,
        "functionName": "flaky",
        "input": "1",
        "retryOptions": {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 3},
    }
    call = {"actionType": 7, "instanceId": "@counter@k", "operation": "add", "input": 1}
    driver.episode(v3(all_of(retry), call))
    failure = engine.failure_details("ValueError", "boom", None)
    driver.send(
        engine.task_failed_event(0, reason="boom", details=None, failure=failure, timestamp=T0)
    )
    outcome = driver.episode(v3(all_of(retry), call))
    assert driver.sessions_used == 1
    assert outcome.instance.failure is not None
    assert outcome.instance.failure["ErrorType"] == "NonDeterminismError"


def test_a_timer_canceled_later_is_withdrawn_with_the_session_kept() -> None:
    driver = Driver()
    race = any_of(wait("approve"), timer(T0 + timedelta(days=1)))
    outcome = driver.episode(v3(race))
    assert len(outcome.timers) == 1
    driver.inbox.append(engine.raise_event_message("abc", "approve", '"yes"', now=driver.now))
    canceled = any_of(wait("approve"), timer(T0 + timedelta(days=1), canceled=True))
    outcome = driver.episode(v3(canceled, activity("after")))
    assert outcome.cancel_timers == (0,)
    assert driver.session is not None and driver.sessions_used == 1
    done(driver, outcome)
    outcome = driver.episode(v3(canceled, activity("after"), activity("more")))
    assert outcome.cancel_timers == (0,)
    assert driver.sessions_used == 2 and max(driver.touched[1:]) <= 6


def test_a_loop_of_timeouts_keeps_its_session() -> None:
    driver = Driver()
    actions: list[dict[str, Any]] = []
    for round_ in range(30):
        deadline = T0 + timedelta(days=round_ + 1)
        actions.append(any_of(wait(f"ev{round_}"), timer(deadline)))
        driver.episode(v3(*actions))
        driver.inbox.append(engine.raise_event_message("abc", f"ev{round_}", "1", now=driver.now))
        actions[-1] = any_of(wait(f"ev{round_}"), timer(deadline, canceled=True))
    outcome = driver.episode(v3(*actions, done=True, output=None))
    assert outcome.instance.runtime_status is RuntimeStatus.Completed
    assert driver.sessions_used == 30
    assert max(driver.touched[1:]) <= 8


def test_continue_as_new_drops_the_session() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    done(driver, outcome)
    assert driver.session is not None
    restart = {"actionType": 4, "input": {"n": 1}}
    outcome = driver.episode(v3(activity("a"), restart, done=True))
    assert outcome.new_execution and outcome.session is None
    outcome = driver.episode(v3(activity("a")))
    assert outcome.session is not None and driver.sessions_used == 1


def test_a_failure_ends_the_session() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    done(driver, outcome)
    outcome = driver.episode(v3(activity("a"), error="boom", done=True))
    assert outcome.instance.runtime_status is RuntimeStatus.Failed
    assert outcome.session is None


def test_an_answer_that_is_no_state_fails_with_or_without_a_session() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    done(driver, outcome)
    outcome = driver.episode("not json")
    assert outcome.instance.runtime_status is RuntimeStatus.Failed


def test_a_malformed_new_action_fails_like_a_full_check() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    done(driver, outcome)
    bad = {"actionType": 7, "instanceId": "no-entity-id", "operation": "x", "input": None}
    outcome = driver.episode(v3(activity("a"), bad))
    assert outcome.instance.runtime_status is RuntimeStatus.Failed


# --------------------------------------------------------------------------- non-determinism


def test_a_code_change_in_consumed_actions_is_still_non_determinism() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    done(driver, outcome)
    outcome = driver.episode(v3(activity("a"), activity("b")))
    done(driver, outcome)
    assert driver.session is not None
    # New code: the first call changed its activity; the session's replay saw "a".
    outcome = driver.episode(v3(activity("x"), activity("b"), activity("c")))
    assert driver.sessions_used == 2
    assert outcome.instance.runtime_status is RuntimeStatus.Failed
    assert outcome.instance.failure is not None
    assert outcome.instance.failure["ErrorType"] == "NonDeterminismError"
    assert outcome.session is None


def test_a_changed_input_in_consumed_actions_is_no_error_and_the_session_continues() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a", 1)))
    done(driver, outcome)
    outcome = driver.episode(v3(activity("a", 2), activity("b")))
    assert outcome.instance.runtime_status is RuntimeStatus.Running
    assert outcome.session is not None  # the fallback full check builds a new one
    done(driver, outcome)
    outcome = driver.episode(v3(activity("a", 2), activity("b"), activity("c")))
    assert driver.sessions_used == 2 and outcome.session is not None


def test_a_forgotten_recorded_task_is_non_determinism_with_a_session() -> None:
    driver = Driver()
    outcome = driver.episode(v3(all_of(activity("a"), activity("b"))))
    driver.send(engine.task_completed_event(0, "1", timestamp=driver.now))
    outcome = driver.episode(v3(all_of(activity("a"))))
    assert outcome.instance.failure is not None
    assert outcome.instance.failure["ErrorType"] == "NonDeterminismError"


# --------------------------------------------------------------------------- validity


def test_a_session_only_matches_the_history_it_saw() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    session = outcome.session
    assert session is not None
    item = OrchestrationWorkItem(instance=driver.instance, history=driver.history, messages=())
    assert session.matches(item)
    assert not session.matches(dataclasses.replace(item, history=driver.history[:-1]))
    changed = (*driver.history[:-1], engine.orchestrator_started_event(T0))
    assert not session.matches(dataclasses.replace(item, history=changed))
    other = dataclasses.replace(driver.instance, execution_id="another")
    assert not session.matches(dataclasses.replace(item, instance=other))


def test_a_session_that_does_not_match_falls_back_to_a_full_check() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    stale = outcome.session
    done(driver, outcome)
    driver.episode(v3(activity("a"), activity("b")))
    # The stale session saw a shorter history (e.g. a commit that did not happen).
    item = OrchestrationWorkItem(instance=driver.instance, history=driver.history, messages=())
    driver.send(engine.task_completed_event(1, "1", timestamp=driver.now))
    item = dataclasses.replace(item, messages=tuple(driver.inbox))
    episode = engine.prepare_episode(item, now=driver.now, session=stale)
    state = json.dumps(v3(activity("a"), activity("b"), activity("c")))
    outcome = engine.complete_episode(
        episode, state, now=driver.now, new_id=driver.new_id, session=stale
    )
    full = engine.complete_episode(
        engine.prepare_episode(item, now=driver.now), state, now=driver.now, new_id=driver.new_id
    )
    same_outcome(outcome, full)
    assert outcome.session is not None and outcome.session.touched == full.session.touched  # type: ignore[union-attr]


def test_a_suspended_episode_without_invocation_keeps_the_session() -> None:
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    driver.inbox.append(engine.suspend_message("abc", "why", now=driver.now))
    outcome = driver.episode(v3(activity("a")))
    assert outcome.instance.runtime_status is RuntimeStatus.Suspended
    driver.send(engine.task_completed_event(0, "1", timestamp=driver.now))
    session = driver.session
    item = OrchestrationWorkItem(
        instance=driver.instance, history=driver.history, messages=tuple(driver.inbox)
    )
    episode = engine.prepare_episode(item, now=driver.now, session=session)
    assert episode.payload is None
    outcome = engine.complete_episode(
        episode, None, now=driver.now, new_id=driver.new_id, session=session
    )
    assert outcome.session is session and session is not None and session.matches(item)


# --------------------------------------------------------------------------- check mode


def test_the_check_mode_compares_with_a_full_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_episode, "SESSION_CHECK", True)
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    done(driver, outcome)
    driver.episode(v3(activity("a"), activity("b")))  # checked: equal
    session = driver.session
    assert session is not None
    replay, _ = session.take()  # a session whose replay went wrong: off by one id
    replay.counter += 1
    broken = EngineSession(
        replay,
        instance_id="abc",
        execution_id=driver.instance.execution_id,
        history_length=len(driver.history),
        last_event=driver.history[-1],
        keys=None,
    )
    driver.send(engine.task_completed_event(1, "1", timestamp=driver.now))
    item = OrchestrationWorkItem(
        instance=driver.instance, history=driver.history, messages=tuple(driver.inbox)
    )
    episode = engine.prepare_episode(item, now=driver.now, session=broken)
    state = json.dumps(v3(activity("a"), activity("b"), activity("c")))
    with pytest.raises(AssertionError, match="DURABLE_SESSION_CHECK"):
        engine.complete_episode(
            episode, state, now=driver.now, new_id=driver.new_id, session=broken
        )


# --------------------------------------------------------------------------- kept or not


def test_no_session_when_the_model_ran_out_of_actions_with_the_last_one_done() -> None:
    """The SDK waits on something it sent no action for: a longer action list later would
    have started its next action earlier in history than a resumed check could."""
    driver = Driver()
    outcome = driver.episode(v3(activity("a")))
    done(driver, outcome)
    outcome = driver.episode(v3(activity("a")))  # nothing new: waits on what it has
    assert outcome.instance.runtime_status is RuntimeStatus.Running
    assert outcome.session is None
    driver.inbox.append(engine.raise_event_message("abc", "poke", "1", now=driver.now))
    outcome = driver.episode(v3(activity("a"), activity("b")))
    assert [work.task_id for work in outcome.activities] == [1]
    assert outcome.session is not None


def test_no_session_when_a_new_event_would_not_match_its_own_action() -> None:
    """A name that is no text is recorded as text: the next full check flags it."""
    driver = Driver()
    nameless = {"actionType": 0, "functionName": None, "input": None}
    outcome = driver.episode(v3(nameless))
    assert outcome.session is None
    done(driver, outcome)
    outcome = driver.episode(v3(nameless, activity("b")))
    assert outcome.instance.failure is not None
    assert outcome.instance.failure["ErrorType"] == "NonDeterminismError"


def test_v1_action_lists_work_with_a_session() -> None:
    driver = Driver()
    groups: list[list[dict[str, Any]]] = []
    for step in range(5):
        groups.append([activity("a", step)] if step % 2 else [activity("x"), activity("y")])
        outcome = driver.episode({"isDone": False, "actions": groups})
        done(driver, outcome)
    assert driver.sessions_used == 4 and max(driver.touched[1:]) <= 8


def test_the_check_mode_is_switched_on_by_the_environment() -> None:
    code = "from durable_functions.host import _episode; print(_episode.SESSION_CHECK)"
    answers = []
    here = str(Path(durable_functions.__file__).resolve().parents[1])  # this very SDK
    path = os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])
    for value in ("1", "0", ""):
        env = {**os.environ, "DURABLE_SESSION_CHECK": value, "PYTHONPATH": path}
        run = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        answers.append(run.stdout.strip())
    assert answers == ["True", "False", "False"]


def test_nested_timers_canceled_as_they_fire_with_a_session() -> None:
    driver = Driver()
    late, later = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    nested = [
        all_of(activity("a"), any_of(wait("x"), timer(late), all_of(timer(later), wait("y"))))
    ]
    outcome = driver.episode(v3(*nested))
    first, second = outcome.timers
    done(driver, outcome)
    driver.inbox.append(first.message)  # fires while the code cancels both timers
    canceled = [
        all_of(
            activity("a"),
            any_of(
                wait("x"),
                timer(late, canceled=True),
                all_of(timer(later, canceled=True), wait("y")),
            ),
        ),
        activity("b"),
    ]
    outcome = driver.episode(v3(*canceled))
    assert outcome.cancel_timers == (second.message.event["TimerId"],)
    assert driver.sessions_used == 1 and outcome.session is not None
    done(driver, outcome)
    outcome = driver.episode(v3(*canceled, done=True, output=None))
    assert outcome.instance.runtime_status is RuntimeStatus.Completed
