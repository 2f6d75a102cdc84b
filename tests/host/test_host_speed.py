"""What keeps the local host fast stays correct: in-memory claims, one writer lock per
file, activities claimed in the episode that schedules them, cheap timestamps, counted
WhenAll/WhenAny, and logs that say little per event."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from apps.harness import copy_app, launch

from durable_functions.host import engine
from durable_functions.host.driver import payload_json
from durable_functions.host.engine import ActivityWorkItem, EpisodeOutcome, RuntimeStatus
from durable_functions.host.store import SqliteStore, _parse_ts, _ts

NOW = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)

_opened: list[SqliteStore] = []


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def _store(tmp_path: Path, *, recover: bool = False) -> SqliteStore:
    store = SqliteStore(tmp_path / "hub.sqlite3", "Hub", recover=recover)
    _opened.append(store)
    return store


def _new(instance_id: str) -> engine.NewInstance:
    return engine.new_instance(
        "chain", instance_id, '"1"', now=NOW, execution_id=uuid.uuid4().hex, version=""
    )


def _activities(item: engine.OrchestrationWorkItem, count: int) -> tuple[ActivityWorkItem, ...]:
    return tuple(
        ActivityWorkItem(
            instance_id=item.instance.instance_id,
            execution_id=item.instance.execution_id,
            task_id=task_id,
            name="add_one",
            input=str(task_id),
        )
        for task_id in range(count)
    )


def _running(item: engine.OrchestrationWorkItem, **changes: Any) -> EpisodeOutcome:
    return EpisodeOutcome(
        instance=replace(item.instance, runtime_status=RuntimeStatus.Running),
        history_added=tuple(m.event for m in item.messages),
        **changes,
    )


# -- store ---------------------------------------------------------------------------------


def test_timestamps_are_stored_as_fixed_width_text_that_sorts_like_time() -> None:
    moments = [
        datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc),
        datetime(2024, 5, 1, 10, 0, 0, 1, tzinfo=timezone.utc),
        datetime(2024, 5, 1, 12, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 5, 1, 10, 0, 1),  # naive = UTC
    ]
    texts = [_ts(m) for m in moments]
    assert texts[0] == "2024-05-01T10:00:00.000000Z"
    assert texts[2] == "2024-05-01T10:00:00.999999Z"
    assert {len(t) for t in texts} == {27}
    assert sorted(texts) == texts
    assert [_parse_ts(t) for t in texts] == [
        m if m.tzinfo else m.replace(tzinfo=timezone.utc) for m in moments
    ]


def test_an_instance_claimed_through_one_store_object_is_not_claimable_through_another(
    tmp_path: Path,
) -> None:
    first, second = _store(tmp_path), _store(tmp_path)
    first.create_instance(_new("i1"))
    assert first.claim_orchestration(NOW) is not None
    assert second.claim_orchestration(NOW) is None


def test_concurrent_claims_hand_out_each_instance_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for index in range(40):
        store.create_instance(_new(f"i{index}"))
    claimed: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while (item := store.claim_orchestration(NOW)) is not None:
            with lock:
                claimed.append(item.instance.instance_id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(f"i{index}" for index in range(40))


def test_completing_an_episode_releases_its_instance_for_the_next_messages(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("i1"))
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    assert store.claim_orchestration(NOW) is None
    store.complete_orchestration(item, _running(item))
    again = store.claim_orchestration(NOW)
    assert again is not None and [m.event["EventType"] for m in again.messages] == [
        engine.EventType.EventRaised
    ]
    assert [e["EventType"] for e in again.history] == [engine.EventType.ExecutionStarted]


def test_an_abandoned_claim_makes_the_same_messages_claimable_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("i1"))
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.abandon_orchestration(item)
    again = store.claim_orchestration(NOW)
    assert again is not None and again.lease == item.lease


def test_an_episode_outcome_for_a_purged_instance_is_dropped(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("i1"))
    item = store.claim_orchestration(NOW)
    assert item is not None
    assert store.purge(["i1"]) == 1
    store.complete_orchestration(item, _running(item, activities=_activities(item, 1)))
    assert store.get_instance("i1") is None
    assert store.claim_activity() is None


def test_activities_claimed_with_their_episode_are_not_handed_out_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("i1"))
    item = store.claim_orchestration(NOW)
    assert item is not None
    outcome = _running(item, activities=_activities(item, 3))
    claimed = store.complete_orchestration_and_claim(item, outcome, claim=2)
    assert [a.task_id for a in claimed] == [0, 1]
    assert all(isinstance(a.lease, int) for a in claimed)
    rest = store.claim_activities(10)
    assert [a.task_id for a in rest] == [2]
    assert store.claim_activities(10) == []


def test_claim_activities_takes_at_most_the_limit_oldest_first(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("i1"))
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.complete_orchestration(item, _running(item, activities=_activities(item, 5)))
    assert [a.task_id for a in store.claim_activities(2)] == [0, 1]
    assert [a.task_id for a in store.claim_activities(2)] == [2, 3]
    assert [a.task_id for a in store.claim_activities(2)] == [4]


def test_a_committed_result_of_a_directly_claimed_activity_reaches_its_instance(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("i1"))
    item = store.claim_orchestration(NOW)
    assert item is not None
    outcome = _running(item, activities=_activities(item, 1))
    (work,) = store.complete_orchestration_and_claim(item, outcome, claim=1)
    store.complete_activities([(work, engine.activity_completed(work, '"done"', now=NOW))])
    episode = store.claim_orchestration(NOW)
    assert episode is not None and episode.messages[0].event["Result"] == '"done"'
    assert store.counts()["activities"] == 0


def test_recovery_releases_activities_claimed_in_memory(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("i1"))
    item = store.claim_orchestration(NOW)
    assert item is not None
    outcome = _running(item, activities=_activities(item, 1))
    assert len(store.complete_orchestration_and_claim(item, outcome, claim=1)) == 1
    assert store.claim_activity() is None
    recovered = _store(tmp_path, recover=True)
    assert recovered.claim_activity() is not None


def test_many_threads_writing_through_several_store_objects_all_commit(tmp_path: Path) -> None:
    stores = [_store(tmp_path) for _ in range(3)]
    errors: list[BaseException] = []

    def writer(store: SqliteStore, thread: int) -> None:
        try:
            for index in range(30):
                assert store.create_instance(_new(f"t{thread}-{index}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(stores[n % 3], n)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stores[0].counts()["instances"] == 180


# -- engine --------------------------------------------------------------------------------


def test_format_timestamp_trims_the_fraction_and_ends_with_z() -> None:
    assert engine.format_timestamp(NOW) == "2024-05-01T10:00:00Z"
    assert engine.format_timestamp(NOW.replace(microsecond=120000)) == "2024-05-01T10:00:00.12Z"


# -- the running host ----------------------------------------------------------------------


def test_the_host_logs_a_summary_at_info_and_each_event_only_at_debug(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3")
    try:
        instance_id = host.start("chain", 1)
        assert host.wait(instance_id)["runtimeStatus"] == "Completed"
    finally:
        host.stop()
    log = host.log.read_text()
    assert "work done:" in log and "orchestrations completed" in log
    assert "activity add_one" not in log
    assert f"({instance_id})" not in log


def test_the_verbose_host_logs_every_activity_and_committed_batch(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3", args=("--verbose",))
    try:
        instance_id = host.start("chain", 1)
        assert host.wait(instance_id)["runtimeStatus"] == "Completed"
    finally:
        host.stop()
    log = host.log.read_text()
    assert f"activity add_one ({instance_id} #0) started" in log
    assert f"committed activity results: {instance_id}#0" in log


def test_episodes_committed_together_each_apply_or_fail_alone(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for instance_id in ("i1", "i2", "i3"):
        store.create_instance(_new(instance_id))
    items = [store.claim_orchestration(NOW) for _ in range(3)]
    assert all(item is not None for item in items)
    first, second, third = (item for item in items if item is not None)
    # A TimerItem without a message cannot be stored: that episode alone rolls back.
    broken = _running(second, timers=(engine.TimerItem(fire_at=NOW, message=None),))  # type: ignore[arg-type]
    results = store.complete_orchestrations(
        [
            (first, _running(first, activities=_activities(first, 1)), 1),
            (second, broken, 0),
            (third, _running(third), 0),
        ]
    )
    assert isinstance(results[0], list) and len(results[0]) == 1
    assert isinstance(results[1], Exception)
    assert results[2] == []
    statuses = {i: store.get_instance(i).runtime_status for i in ("i1", "i2", "i3")}  # type: ignore[union-attr]
    assert statuses == {
        "i1": RuntimeStatus.Running,
        "i2": RuntimeStatus.Pending,
        "i3": RuntimeStatus.Running,
    }
    assert store.get_history("i2") == []
    again = store.claim_orchestration(NOW)  # the failed episode's messages are claimable again
    assert again is not None and again.instance.instance_id == "i2"


def test_the_payload_reuses_the_stored_text_of_past_events_and_says_the_same(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("i1"))
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.complete_orchestration(item, _running(item))
    store.send([engine.raise_event_message("i1", "go", '{"n": 1}', now=NOW)])
    again = store.claim_orchestration(NOW)
    assert again is not None and again.history_json is not None
    assert len(again.history_json) == len(again.history) == 1
    episode = engine.prepare_episode(again, now=NOW)
    text = payload_json(episode)
    assert again.history_json[0] in text  # spliced in, not encoded again
    assert json.loads(text) == episode.payload
    without = engine.prepare_episode(replace(again, history_json=None), now=NOW)
    assert json.loads(payload_json(without)) == without.payload


def _summed(log: str, what: str) -> int:
    """The counts of ``what`` over the host's INFO summaries ("work done: 3 episodes, ...")."""
    return sum(int(n) for n in re.findall(rf"(\d+) {re.escape(what)}(?:,|$)", log, re.M))


@pytest.mark.parametrize("max_orchestrations", [4, 1])
def test_a_lone_chain_goes_on_on_its_activity_thread_and_runs_each_step_once(
    tmp_path: Path, max_orchestrations: int
) -> None:
    activity_log = tmp_path / "activities.jsonl"
    app_dir = copy_app("sdk_app", tmp_path)
    settings = json.loads((app_dir / "host.json").read_text())
    settings["extensions"]["durableTask"]["maxConcurrentOrchestratorFunctions"] = max_orchestrations
    (app_dir / "host.json").write_text(json.dumps(settings))
    host = launch(app_dir, tmp_path / "hub.sqlite3", env={"ACTIVITY_LOG": str(activity_log)})
    try:
        status = host.wait(host.start("logged_long_chain", "solo:100"))
    finally:
        assert host.stop() == 0
    assert status["output"] == [f"SOLO:{i}" for i in range(100)], status
    runs = [json.loads(line)[1] for line in activity_log.read_text().splitlines()]
    assert sorted(runs) == sorted(f"solo:{i}" for i in range(100))
    log = host.log.read_text()
    assert _summed(log, "episodes") >= 101, log
    if max_orchestrations == 1:  # one episode at a time: the worker runs them all
        assert _summed(log, "episodes on an activity thread") == 0, log
    else:
        # The first episode is the orchestration worker's; the steps after it (nearly all:
        # a worker that wakes to poll takes the odd step back) ran where their activity ran.
        assert _summed(log, "episodes on an activity thread") >= 80, log
