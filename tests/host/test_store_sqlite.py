"""The SQLite task hub store keeps state durable, atomic and per hub."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from durable_functions._protocol import EventType
from durable_functions.errors import HostError
from durable_functions.host import engine
from durable_functions.host.engine import (
    ActivityWorkItem,
    EpisodeOutcome,
    RuntimeStatus,
    TimerItem,
)
from durable_functions.host.store import SCHEMA_VERSION, SqliteStore

NOW = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


def _new(instance_id: str = "i1", name: str = "chain") -> engine.NewInstance:
    return engine.new_instance(
        name, instance_id, '"1"', now=NOW, execution_id=uuid.uuid4().hex, version=""
    )


_opened: list[SqliteStore] = []


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def _store(tmp_path: Path, hub: str = "Hub", *, recover: bool = False) -> SqliteStore:
    store = SqliteStore(tmp_path / "hub.sqlite3", hub, recover=recover)
    _opened.append(store)
    return store


def _activity(item: engine.OrchestrationWorkItem, task_id: int = 0) -> ActivityWorkItem:
    return ActivityWorkItem(
        instance_id=item.instance.instance_id,
        execution_id=item.instance.execution_id,
        task_id=task_id,
        name="add_one",
        input="1",
    )


def _running(item: engine.OrchestrationWorkItem, **changes: Any) -> EpisodeOutcome:
    """An episode outcome that consumed the claimed messages and left the instance Running."""
    return EpisodeOutcome(
        instance=replace(item.instance, runtime_status=RuntimeStatus.Running),
        history_added=tuple(m.event for m in item.messages),
        **changes,
    )


def test_a_new_file_gets_the_current_schema_version_and_wal_mode(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(tmp_path / "hub.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_migrations").fetchall() == [(1,)]


def test_reopening_an_existing_file_keeps_its_data(tmp_path: Path) -> None:
    _store(tmp_path).create_instance(_new())
    assert _store(tmp_path).get_instance("i1") is not None


def test_a_file_from_a_newer_schema_is_refused_with_a_host_error(tmp_path: Path) -> None:
    _store(tmp_path).close()
    with sqlite3.connect(tmp_path / "hub.sqlite3") as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HostError, match="newer version"):
        _store(tmp_path)


def test_sqlite_errors_surface_as_host_errors(tmp_path: Path) -> None:
    (tmp_path / "hub.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(HostError):
        _store(tmp_path)


def test_hubs_in_one_file_do_not_see_each_other(tmp_path: Path) -> None:
    first, second = _store(tmp_path, "A"), _store(tmp_path, "B")
    first.create_instance(_new())
    assert second.get_instance("i1") is None
    assert second.claim_orchestration(NOW) is None
    assert first.claim_orchestration(NOW) is not None


def test_a_live_instance_id_cannot_be_created_twice(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.create_instance(_new()) is True
    assert store.create_instance(_new()) is False


def test_an_instance_is_claimed_by_one_worker_at_a_time(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None and [m.event["EventType"] for m in item.messages] == [0]
    store.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    assert store.claim_orchestration(NOW) is None


def test_completing_an_episode_appends_history_and_enqueues_work_at_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.complete_orchestration(item, _running(item, activities=(_activity(item),)))
    assert [e["EventType"] for e in store.get_history("i1")] == [0]
    assert store.get_instance("i1").runtime_status is RuntimeStatus.Running  # type: ignore[union-attr]
    assert store.claim_activity() is not None
    assert store.claim_orchestration(NOW) is None


def _scheduled_and_run(store: SqliteStore) -> tuple[ActivityWorkItem, engine.OrchestrationMessage]:
    """Start i1, schedule one activity, claim it; return it with its result message."""
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.complete_orchestration(item, _running(item, activities=(_activity(item),)))
    work = store.claim_activity()
    assert work is not None
    return work, engine.activity_completed(work, "2", now=NOW)


def test_a_committed_activity_result_deletes_its_work_item(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.complete_activities([_scheduled_and_run(store)])
    recovered = _store(tmp_path, recover=True)
    assert recovered.claim_activity() is None
    episode = recovered.claim_orchestration(NOW)
    assert episode is not None and episode.messages[0].event["Result"] == "2"


def test_claimed_but_uncommitted_work_is_visible_again_after_recovery(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.complete_orchestration(item, _running(item, activities=(_activity(item),)))
    assert store.claim_activity() is not None
    store.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    assert store.claim_orchestration(NOW) is not None
    assert store.claim_activity() is None  # still claimed by the "crashed" process
    recovered = _store(tmp_path, recover=True)
    assert recovered.claim_activity() is not None
    assert recovered.claim_orchestration(NOW) is not None


def test_an_activity_result_held_in_memory_commits_with_the_episode_that_consumes_it(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    work, result = _scheduled_and_run(store)
    store.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    item = store.claim_instance("i1", [(work, result)], NOW)
    assert item is not None
    # Stored messages first, then the results held in memory.
    assert [m.event["EventType"] for m in item.messages] == [15, 5]
    assert store.claim_instance("i1", [(work, result)], NOW) is None  # claimed already
    store.complete_orchestration(item, _running(item))
    assert [e["EventType"] for e in store.get_history("i1")] == [0, 15, 5]
    recovered = _store(tmp_path, recover=True)
    assert recovered.claim_activity() is None  # the work item went with the episode
    assert recovered.claim_orchestration(NOW) is None


def test_an_abandoned_episode_stores_the_activity_results_it_held(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _scheduled_and_run(store)
    item = store.claim_instance("i1", [(work, result)], NOW)
    assert item is not None
    store.abandon_orchestration(item)
    assert store.claim_activity() is None
    again = store.claim_orchestration(NOW)
    assert again is not None and [m.event["Result"] for m in again.messages] == ["2"]


def test_an_uncommitted_activity_result_held_in_memory_reruns_after_a_crash(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    work, result = _scheduled_and_run(store)
    assert store.claim_instance("i1", [(work, result)], NOW) is not None
    recovered = _store(tmp_path, recover=True)  # the claiming process died before committing
    rerun = recovered.claim_activity()
    assert rerun is not None and rerun.task_id == work.task_id


def test_an_episode_that_rolls_back_stores_the_activity_results_it_held(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _scheduled_and_run(store)
    store.create_instance(_new("i2"))
    other = store.claim_orchestration(NOW)
    item = store.claim_instance("i1", [(work, result)], NOW)
    assert item is not None and other is not None
    # A TimerItem without a message cannot be stored: that episode alone rolls back.
    broken = _running(item, timers=(TimerItem(fire_at=NOW, message=None),))  # type: ignore[arg-type]
    results = store.complete_orchestrations([(item, broken, 0), (other, _running(other), 0)])
    assert isinstance(results[0], Exception) and results[1] == []
    assert [e["EventType"] for e in store.get_history("i1")] == [0]
    again = store.claim_orchestration(NOW)
    assert again is not None and [m.event["Result"] for m in again.messages] == ["2"]
    assert store.claim_activity() is None  # the result is stored: the activity does not rerun


def test_activity_results_for_a_missing_instance_are_not_claimed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _scheduled_and_run(store)
    store.purge(["i1"])
    assert store.claim_instance("i1", [(work, result)], NOW) is None


def test_an_abandoned_episode_gives_its_messages_back(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.abandon_orchestration(item)
    again = store.claim_orchestration(NOW)
    assert again is not None and len(again.messages) == 1


def test_a_timer_message_stays_invisible_until_it_is_due(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    fire_at = NOW + timedelta(minutes=5)
    fired = engine.timer_fired_event(0, fire_at, timestamp=fire_at)
    timer = TimerItem(
        fire_at=fire_at,
        message=engine.OrchestrationMessage(
            instance_id="i1", execution_id=item.instance.execution_id, event=fired
        ),
    )
    store.complete_orchestration(item, _running(item, timers=(timer,)))
    assert store.claim_orchestration(NOW) is None
    assert store.next_visible_at(NOW) == fire_at
    later = store.claim_orchestration(fire_at)
    assert later is not None and later.messages[0].event["EventType"] == 11


def test_a_cancelled_timer_is_deleted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    fire_at = NOW + timedelta(minutes=5)
    timer = TimerItem(
        fire_at=fire_at,
        message=engine.OrchestrationMessage(
            instance_id="i1",
            execution_id=item.instance.execution_id,
            event=engine.timer_fired_event(3, fire_at, timestamp=fire_at),
        ),
    )
    store.complete_orchestration(item, _running(item, timers=(timer,)))
    store.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    second = store.claim_orchestration(NOW)
    assert second is not None
    store.complete_orchestration(second, _running(second, cancel_timers=(3,)))
    assert store.next_visible_at(NOW) is None


def test_messages_for_a_purged_instance_are_dropped(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    assert store.purge(["i1"]) == 1
    store.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    assert store.claim_orchestration(NOW) is None
    assert store.counts()["messages"] == 0


def test_a_suspended_instance_is_only_claimed_for_resume_or_terminate(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    suspended = replace(
        _running(item), instance=replace(item.instance, runtime_status=RuntimeStatus.Suspended)
    )
    store.complete_orchestration(item, suspended)
    store.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    assert store.claim_orchestration(NOW) is None
    store.send([engine.resume_message("i1", None, now=NOW)])
    woken = store.claim_orchestration(NOW)
    assert woken is not None and [m.event["EventType"] for m in woken.messages] == [15, 20]


def test_list_pages_follow_the_continuation_token(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for i in range(5):
        store.create_instance(_new(f"p{i}"))
    first = store.list_instances(top=2)
    second = store.list_instances(top=2, continuation=first.continuation)
    third = store.list_instances(top=2, continuation=second.continuation)
    ids = [i.instance_id for page in (first, second, third) for i in page.instances]
    assert ids == ["p0", "p1", "p2", "p3", "p4"] and third.continuation is None


def test_list_filters_by_prefix_status_and_creation_time(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new("keep-1"))
    store.create_instance(_new("other"))
    assert [i.instance_id for i in store.list_instances(prefix="keep").instances] == ["keep-1"]
    assert store.list_instances(statuses=["Completed"]).instances == []
    assert store.list_instances(created_from=NOW + timedelta(seconds=1)).instances == []


def test_an_invalid_continuation_token_is_a_host_error(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="continuation"):
        _store(tmp_path).list_instances(continuation="garbage")


def test_entity_requests_are_delivered_in_order_and_state_is_kept(tmp_path: Path) -> None:
    store = _store(tmp_path)
    signals = [
        engine.entity_signal_message("@counter@k", "add", str(n), now=NOW, request_id=str(n))
        for n in range(3)
    ]
    store.send_entity(signals)
    item = store.claim_entity()
    assert item is not None
    assert [m.request["input"] for m in item.messages] == ["0", "1", "2"]
    assert store.claim_entity() is None
    entity = engine.EntityState(entity_id="@counter@k", exists=True, state="3", last_modified=NOW)
    store.complete_entity(item, engine.EntityOutcome(entity=entity))
    assert store.get_entity("@counter@k") == entity
    found, _token = store.list_entities(name="Counter")
    assert [e.entity_id for e in found] == ["@counter@k"]


def test_a_second_host_cannot_serve_the_same_file(tmp_path: Path) -> None:
    serving = _store(tmp_path, recover=True)
    with pytest.raises(HostError, match="already serving"):
        _store(tmp_path, recover=True)
    serving.close()
    _store(tmp_path, recover=True).close()


def test_an_episode_of_an_instance_purged_meanwhile_does_not_resurrect_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.purge(["i1"])
    store.complete_orchestration(item, _running(item, activities=(_activity(item),)))
    assert store.get_instance("i1") is None
    assert store.counts() == {"instances": 0, "messages": 0, "activities": 0, "entity_messages": 0}


def test_the_next_episode_sees_what_the_last_one_committed_without_rereading_it(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    work, result = _scheduled_and_run(store)
    item = store.claim_instance("i1", [(work, result)], NOW)
    assert item is not None
    store.complete_orchestration(item, _running(item))
    store.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    again = store.claim_orchestration(NOW)
    assert again is not None
    assert [e["EventType"] for e in again.history] == [0, 5]
    assert again.history == tuple(store.get_history("i1"))
    assert again.instance == store.get_instance("i1")


def test_an_instance_replaced_since_its_last_episode_is_read_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.complete_orchestration(item, _running(item))  # i1 Running, history [0]
    store.purge(["i1"])
    replacement = _new()
    store.create_instance(replacement)
    again = store.claim_orchestration(NOW)
    assert again is not None
    assert again.instance.execution_id == replacement.instance.execution_id
    assert again.history == ()
    assert [m.event["EventType"] for m in again.messages] == [0]


def test_a_rewound_history_is_read_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    store.complete_orchestration(item, _running(item))
    rewound = replace(item.instance, last_updated_time=NOW + timedelta(seconds=1))
    started = item.messages[0].event
    store.replace_history(
        rewound,
        [started, engine.event_raised_event("marker", None, timestamp=NOW)],
        messages=[engine.raise_event_message("i1", "e", "1", now=NOW)],
    )
    again = store.claim_orchestration(NOW)
    assert again is not None
    assert [e["EventType"] for e in again.history] == [0, 15]


def test_activity_results_that_fail_to_commit_leave_their_work_to_run_again(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    work, result = _scheduled_and_run(store)
    unstorable = replace(result, event={**result.event, "Result": object()})
    with pytest.raises(TypeError):
        store.complete_activities([(work, unstorable)])
    again = store.claim_activity()  # unclaimed, not lost: it runs again
    assert again is not None and again.task_id == work.task_id


def test_several_instances_are_claimed_for_their_results_in_one_read(tmp_path: Path) -> None:
    store = _store(tmp_path)
    held = {}
    for instance_id in ("a", "b", "c"):
        store.create_instance(_new(instance_id))
        item = store.claim_orchestration(NOW)
        assert item is not None
        activity = _activity(item, task_id=len(instance_id))
        (work,) = store.complete_orchestration_and_claim(
            item, _running(item, activities=(activity,)), claim=1
        )
        held[item.instance.instance_id] = [(work, engine.activity_completed(work, '"r"', now=NOW))]
    recovered = _store(tmp_path, recover=True)  # knows nothing: reads the histories
    recovered.send([engine.raise_event_message("b", "e", "1", now=NOW)])
    busy = recovered.claim_orchestration(NOW)  # "b" is claimed for its event
    assert busy is not None and busy.instance.instance_id == "b"
    items = recovered.claim_instances(held, NOW)
    assert sorted(items) == ["a", "c"]
    for instance_id, item in items.items():
        assert item.instance.instance_id == instance_id
        assert [e["EventType"] for e in item.history] == [0]
        assert item.history[0]["Name"] == "chain"
        assert [m.event["EventType"] for m in item.messages] == [5]
        assert item.messages[0].event["TaskScheduledId"] == held[instance_id][0][0].task_id


# -- claims that skip the read (a chain committed by this process, nothing written since) --


_OTHER_PROCESS_SENDS = """
import datetime, sys
from durable_functions.host import engine
from durable_functions.host.store import SqliteStore
store = SqliteStore(sys.argv[1], "Hub", recover=False)
now = datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.timezone.utc)
store.send([engine.raise_event_message("i1", "e", "1", now=now)])
"""


def _chained(store: SqliteStore) -> tuple[ActivityWorkItem, engine.OrchestrationMessage]:
    """Start i1 and commit an episode that claims its activity in the same transaction,
    as the host does for a chain; return the activity with its result message."""
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    outcome = _running(item, activities=(_activity(item),))
    [work] = store.complete_orchestration_and_claim(item, outcome, claim=1)
    return work, engine.activity_completed(work, "2", now=NOW)


def _kinds(item: engine.OrchestrationWorkItem | None) -> list[int]:
    assert item is not None
    return [m.event["EventType"] for m in item.messages]


def test_a_chain_claim_sees_a_message_another_store_object_sent(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _chained(store)
    _store(tmp_path).send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    assert _kinds(store.claim_instance("i1", [(work, result)], NOW)) == [
        EventType.EventRaised,
        EventType.TaskCompleted,
    ]


def test_a_chain_claim_sees_a_message_another_process_sent(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _chained(store)
    path = str(tmp_path / "hub.sqlite3")
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS_SENDS, path], check=True)
    assert _kinds(store.claim_instance("i1", [(work, result)], NOW)) == [
        EventType.EventRaised,
        EventType.TaskCompleted,
    ]


def test_a_chain_claim_sees_the_timer_its_episode_stored(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create_instance(_new())
    item = store.claim_orchestration(NOW)
    assert item is not None
    fired = engine.OrchestrationMessage(
        instance_id="i1",
        execution_id=item.instance.execution_id,
        event=engine.timer_fired_event(1, NOW, timestamp=NOW),
    )
    outcome = _running(
        item,
        activities=(_activity(item),),
        timers=(TimerItem(fire_at=NOW, message=fired),),
    )
    [work] = store.complete_orchestration_and_claim(item, outcome, claim=1)
    result = engine.activity_completed(work, "2", now=NOW)
    assert _kinds(store.claim_instance("i1", [(work, result)], NOW)) == [
        EventType.TimerFired,
        EventType.TaskCompleted,
    ]


def test_a_chain_claim_after_a_purge_claims_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _chained(store)
    store.purge(["i1"])
    assert store.claim_instance("i1", [(work, result)], NOW) is None


def _step(
    store: SqliteStore, work: ActivityWorkItem, result: engine.OrchestrationMessage, **changes: Any
) -> tuple[ActivityWorkItem, engine.OrchestrationMessage]:
    """One more step of i1's chain: consume ``result``, schedule and claim the next activity."""
    item = store.claim_instance("i1", [(work, result)], NOW)
    assert item is not None
    activity = _activity(item, task_id=work.task_id + 1)
    outcome = _running(item, activities=(activity,), **changes)
    [following] = store.complete_orchestration_and_claim(item, outcome, claim=1)
    return following, engine.activity_completed(following, "2", now=NOW)


def test_a_chain_step_with_nothing_written_since_its_claim_reads_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _step(store, *_chained(store))  # from here on, claims are quiet
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)
    work, result = _step(store, work, result)
    store._conn().set_trace_callback(None)
    assert [s for s in statements if s.startswith("SELECT")] == []
    assert store.get_history("i1") == list(store.claim_instance("i1", [(work, result)]).history)


@pytest.mark.parametrize("sender", ["another process", "another store object"])
def test_a_chain_step_sees_a_message_sent_while_it_ran(tmp_path: Path, sender: str) -> None:
    store = _store(tmp_path)
    work, result = _step(store, *_chained(store))
    item = store.claim_instance("i1", [(work, result)], NOW)  # quiet: no read
    assert item is not None
    if sender == "another process":
        path = str(tmp_path / "hub.sqlite3")
        subprocess.run([sys.executable, "-c", _OTHER_PROCESS_SENDS, path], check=True)
    else:
        _store(tmp_path).send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    activity = _activity(item, task_id=work.task_id + 1)
    [work] = store.complete_orchestration_and_claim(
        item, _running(item, activities=(activity,)), claim=1
    )
    result = engine.activity_completed(work, "2", now=NOW)
    assert _kinds(store.claim_instance("i1", [(work, result)], NOW)) == [
        EventType.EventRaised,
        EventType.TaskCompleted,
    ]


def test_a_chain_step_sees_the_timer_it_stored(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _step(store, *_chained(store))
    fired = engine.OrchestrationMessage(
        instance_id="i1",
        execution_id=work.execution_id,
        event=engine.timer_fired_event(1, NOW, timestamp=NOW),
    )
    work, result = _step(store, work, result, timers=(TimerItem(fire_at=NOW, message=fired),))
    assert _kinds(store.claim_instance("i1", [(work, result)], NOW)) == [
        EventType.TimerFired,
        EventType.TaskCompleted,
    ]


def test_a_chain_step_purged_while_it_ran_does_not_resurrect_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    work, result = _step(store, *_chained(store))
    item = store.claim_instance("i1", [(work, result)], NOW)
    assert item is not None
    store.purge(["i1"])
    store.complete_orchestration(item, _running(item, activities=(_activity(item, 9),)))
    assert store.get_instance("i1") is None
    assert store.counts() == {"instances": 0, "messages": 0, "activities": 0, "entity_messages": 0}
