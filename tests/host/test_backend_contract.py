"""Both backends keep the ``Backend`` contract the driver relies on (batches, held results)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from durable_functions.host import driver, engine
from durable_functions.host.backend import Backend
from durable_functions.host.clock import VirtualClock
from durable_functions.host.engine import ActivityWorkItem, EpisodeOutcome, RuntimeStatus
from durable_functions.host.memory import MemoryBackend
from durable_functions.host.store import SqliteStore

NOW = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    clock = VirtualClock(NOW)
    if request.param == "memory":
        yield MemoryBackend(clock)
        return
    store = SqliteStore(tmp_path / "hub.sqlite3", "Hub", clock=clock)
    yield store
    store.close()


def _new(instance_id: str = "i1") -> engine.NewInstance:
    return engine.new_instance(
        "chain", instance_id, '"1"', now=NOW, execution_id=uuid.uuid4().hex, version=""
    )


def _activity(item: engine.OrchestrationWorkItem, task_id: int = 0) -> ActivityWorkItem:
    return ActivityWorkItem(
        instance_id=item.instance.instance_id,
        execution_id=item.instance.execution_id,
        task_id=task_id,
        name="add_one",
        input="1",
    )


def _running(item: engine.OrchestrationWorkItem, **changes: Any) -> EpisodeOutcome:
    return EpisodeOutcome(
        instance=replace(item.instance, runtime_status=RuntimeStatus.Running),
        history_added=tuple(m.event for m in item.messages),
        **changes,
    )


def _scheduled_and_run(
    backend: Backend,
) -> tuple[ActivityWorkItem, engine.OrchestrationMessage]:
    backend.create_instance(_new())
    item = backend.claim_orchestration(NOW)
    assert item is not None
    backend.complete_orchestration(item, _running(item, activities=(_activity(item),)))
    work = backend.claim_activity()
    assert work is not None
    return work, engine.activity_completed(work, "2", now=NOW)


def test_a_held_activity_result_commits_with_the_episode_that_consumes_it(
    backend: Backend,
) -> None:
    work, result = _scheduled_and_run(backend)
    backend.send([engine.raise_event_message("i1", "e", "1", now=NOW)])
    items = backend.claim_instances({"i1": [(work, result)]}, NOW)
    item = items["i1"]
    assert [m.event["EventType"] for m in item.messages] == [15, 5]  # stored first, then held
    assert backend.claim_instances({"i1": [(work, result)]}, NOW) == {}  # claimed already
    assert backend.complete_orchestrations([(item, _running(item), 0)]) == [[]]
    assert [e["EventType"] for e in backend.get_history("i1")] == [0, 15, 5]
    assert backend.claim_activity() is None
    assert backend.claim_orchestration(NOW) is None


def test_an_abandoned_episode_stores_the_results_it_held(backend: Backend) -> None:
    work, result = _scheduled_and_run(backend)
    item = backend.claim_instances({"i1": [(work, result)]}, NOW)["i1"]
    backend.abandon_orchestration(item)
    assert backend.claim_activity() is None
    again = backend.claim_orchestration(NOW)
    assert again is not None and [m.event["Result"] for m in again.messages] == ["2"]


def test_held_results_of_a_missing_instance_are_not_claimed(backend: Backend) -> None:
    work, result = _scheduled_and_run(backend)
    backend.purge(["i1"])
    assert backend.claim_instances({"i1": [(work, result)]}, NOW) == {}


def test_a_batch_commit_claims_the_activities_it_was_asked_to(backend: Backend) -> None:
    backend.create_instance(_new("a"))
    backend.create_instance(_new("b"))
    first, second = backend.claim_orchestration(NOW), backend.claim_orchestration(NOW)
    assert first is not None and second is not None
    results = backend.complete_orchestrations(
        [
            (first, _running(first, activities=(_activity(first, 0), _activity(first, 1))), 1),
            (second, _running(second, activities=(_activity(second, 0),)), 0),
        ]
    )
    claimed = results[0]
    assert isinstance(claimed, list) and [(a.instance_id, a.task_id) for a in claimed] == [
        (first.instance.instance_id, 0)
    ]
    assert results[1] == []
    rest = backend.claim_activities(10)
    assert [(a.instance_id, a.task_id) for a in rest] == [
        (first.instance.instance_id, 1),
        (second.instance.instance_id, 0),
    ]
    assert backend.claim_activities(10) == []


def test_claim_activities_takes_at_most_the_limit_in_order(backend: Backend) -> None:
    backend.create_instance(_new())
    item = backend.claim_orchestration(NOW)
    assert item is not None
    activities = tuple(_activity(item, n) for n in range(3))
    backend.complete_orchestration(item, _running(item, activities=activities))
    assert [a.task_id for a in backend.claim_activities(2)] == [0, 1]
    assert [a.task_id for a in backend.claim_activities(2)] == [2]


class _Slots:
    def __init__(self, free: int) -> None:
        self.free = free

    def take(self, wanted: int) -> int:
        taken = min(wanted, self.free)
        self.free -= taken
        return taken

    def give_back(self, count: int) -> None:
        self.free += count


class _Invoker:
    def known_orchestrators(self) -> list[str]:
        return []

    def known_activities(self) -> list[str]:
        return []

    def known_entities(self) -> list[str]:
        return []

    def invoke_orchestrator(self, name: str, payload: str) -> str:
        raise AssertionError("not called")

    def invoke_activity(self, name: str, input_json: str) -> str:
        raise AssertionError("not called")

    def invoke_entity(self, name: str, batch_payload: str) -> str:
        raise AssertionError("not called")


def test_the_driver_reports_an_unknown_orchestrator_as_its_failure(backend: Backend) -> None:
    backend.create_instance(_new())
    item = backend.claim_orchestration(NOW)
    assert item is not None
    slots = _Slots(4)
    (done,) = driver.run_episodes(backend, [item], _Invoker(), VirtualClock(NOW), slots=slots)
    assert done.started == [] and slots.free == 4
    instance = backend.get_instance("i1")
    assert instance is not None and instance.runtime_status is RuntimeStatus.Failed
    assert "doesn't exist" in (instance.output or "")


def _created(backend: Backend, name: str, instance_id: str, minute: int) -> None:
    new = engine.new_instance(
        name, instance_id, None, now=NOW.replace(minute=minute), execution_id="e", version=""
    )
    backend.create_instance(new)


def test_list_instances_pages_newest_first_and_filters_by_name(backend: Backend) -> None:
    for minute, (name, instance_id) in enumerate(
        [("chain", "a"), ("Fan", "b"), ("chain", "c"), ("chain", "d"), ("fan", "e")]
    ):
        _created(backend, name, instance_id, minute)

    def ids(**query: Any) -> list[list[str]]:
        pages, token = [], None
        while True:
            page = backend.list_instances(top=2, continuation=token, **query)
            pages.append([i.instance_id for i in page.instances])
            token = page.continuation
            if token is None:
                return pages

    assert ids() == [["a", "b"], ["c", "d"], ["e"]]
    assert ids(newest_first=True) == [["e", "d"], ["c", "b"], ["a"]]
    assert ids(name="CHAIN", newest_first=True) == [["d", "c"], ["a"]]
    assert ids(name="fan") == [["b", "e"]]
