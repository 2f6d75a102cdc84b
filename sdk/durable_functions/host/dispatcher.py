"""The threads that run the work stored in the task hub, through the one ``driver``.

Every episode, activity and entity batch is run by ``driver`` over the ``Backend``
protocol; this module adds the threads and what makes a busy host fast:

* one orchestration worker thread (see ``ORCHESTRATOR_THREADS``): claims instances
  with new messages (up to ``EPISODE_BATCH`` under load), runs their episodes through
  the engine and commits them in one transaction, one savepoint per episode; instances
  progress concurrently, one instance never runs twice at once;
* activities: one claimer thread hands sync activities to a thread pool and async
  ones to the app's event loop, within ``maxConcurrentActivityFunctions``; their
  results go straight to the orchestration worker, which commits each with the
  episode that consumes it (deleting its work item in the same transaction, so a
  committed activity never runs again, and one whose result was not committed runs
  again after a crash);
* a chain continues where its activity ran: while the orchestration worker sleeps,
  the activity thread runs the instance's next episode itself, and the next activity
  too when it is the only one (one chain at a time; see ``_continue_chain``);
* one entity worker: entity batches, one entity at a time, requests in order;
* timers are messages that become visible at their fire time: workers sleep until
  the next one is due, or until the server or another worker wakes them.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from durable_functions._protocol import RuntimeStatus
from durable_functions.host import driver, engine
from durable_functions.host.backend import ActivityResult, Backend
from durable_functions.host.clock import Clock
from durable_functions.host.engine import (
    ActivityWorkItem,
    EngineConfig,
    EntityWorkItem,
    OrchestrationMessage,
    OrchestrationWorkItem,
)
from durable_functions.host.functions import LoadedApp
from durable_functions.host.sessions import SessionCache, SessionSettings
from durable_functions.host.store import SqliteStore

log = logging.getLogger("durable_functions.host")

T = TypeVar("T")

_Results = list[ActivityResult]
"""Activity results and the messages that carry them to their instances."""

IDLE_WAIT = 1.0
"""Longest sleep between polls when nobody wakes a worker (seconds)."""
EPISODE_BATCH = 16
"""Most episodes a worker runs before committing them together (under load)."""
ORCHESTRATOR_THREADS = 1
"""Threads that run episodes. Python runs one at a time anyway (the GIL), and every
extra thread contending for it costs more than it overlaps: measured, one thread
committing batches beats four. ``maxConcurrentOrchestratorFunctions`` caps it."""
SUMMARY_EVERY = 10.0
"""Seconds between INFO summaries of the work done (per-event lines are DEBUG)."""


class _SemaphoreSlots:
    """``driver.Slots`` over the dispatcher's activity semaphore."""

    def __init__(self, semaphore: threading.Semaphore) -> None:
        self._semaphore = semaphore

    def take(self, wanted: int) -> int:
        taken = 0
        while taken < wanted and self._semaphore.acquire(blocking=False):
            taken += 1
        return taken

    def give_back(self, count: int) -> None:
        for _ in range(count):
            self._semaphore.release()


class _Here(Executor):
    """Runs what it is given at once, on the calling thread (a chain's next activity)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


_HERE = _Here()


class Dispatcher:
    """Runs orchestrations, activities, entities and timers until stopped."""

    def __init__(
        self,
        app: LoadedApp,
        store: SqliteStore,
        *,
        max_orchestrations: int = 4,
        max_activities: int = 10,
        config: EngineConfig | None = None,
        orchestrator_threads: int = ORCHESTRATOR_THREADS,
        on_finished: Callable[[str], None] | None = None,
        clock: Clock | None = None,
        sessions: SessionSettings | None = None,
    ) -> None:
        self.app = app
        self.store = store
        """The SQLite store, for its lifecycle; the work goes through ``backend``."""
        self.backend: Backend = store
        self.clock: Clock = clock or store.clock
        self.config = config or EngineConfig()
        self.sessions = SessionCache(self.clock, sessions)
        """Running orchestrations kept alive between episodes (memory only, never state)."""
        self._episodes = driver.Episodes(config=self.config, sessions=self.sessions)
        self.max_orchestrations = max_orchestrations
        self.orchestrator_threads = max(1, min(orchestrator_threads, max_orchestrations))
        self.max_activities = max_activities
        self.on_finished = on_finished
        """Called (on a worker thread) with each instance id that reaches a terminal status."""
        self._stop = threading.Event()
        self._orchestration_wake = threading.Condition()
        self._orchestration_signal = 0
        self._activity_wake = threading.Event()
        self._entity_wake = threading.Event()
        self._slots = threading.Semaphore(max_activities)
        self._slot_pool = _SemaphoreSlots(self._slots)
        self._results: queue.Queue[tuple[ActivityWorkItem, OrchestrationMessage]] = queue.Queue()
        self._pool = ThreadPoolExecutor(
            max_activities, thread_name_prefix="activity", initializer=self._mark_activity_thread
        )
        self._local = threading.local()
        self._orchestrator_idle = False
        """The orchestration worker sleeps with nothing to do (see ``_continue_chain``)."""
        self._chain = threading.Lock()
        """Held by the activity thread that runs a chain (one at a time)."""
        self._threads: list[threading.Thread] = []
        self._counts_lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._summary_at = time.monotonic() + SUMMARY_EVERY
        self.errors = 0
        """Unexpected internal errors (logged); tests assert it stays 0."""

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start every worker thread."""
        targets: list[tuple[str, Callable[[], None]]] = [
            (f"orchestrator-{i}", self._orchestration_loop)
            for i in range(self.orchestrator_threads)
        ]
        targets += [
            ("activity-claimer", self._activity_loop),
            ("entity", self._entity_loop),
        ]
        for name, target in targets:
            thread = threading.Thread(target=self._guarded(target), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming work, flush committed results, and join the threads."""
        self._stop.set()
        with self._orchestration_wake:
            self._orchestration_signal += 1
            self._orchestration_wake.notify_all()
        self._activity_wake.set()
        self._entity_wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=False, cancel_futures=True)
        # A chain running on an activity thread stops after its current episode.
        if self._chain.acquire(timeout=max(0.0, deadline - time.monotonic())):
            self._chain.release()
        self._flush_results()
        self._maybe_summarize(force=True)

    def wake(
        self, *, orchestrations: bool = True, activities: bool = True, entities: bool = True
    ) -> None:
        """New work was stored: wake a sleeping worker of the kinds it is for (workers
        woken for nothing still query the store, which costs the others time)."""
        if orchestrations:
            self._wake_orchestrations(1)
        if activities:
            self._activity_wake.set()
        if entities:
            self._entity_wake.set()

    def _wake_orchestrations(self, count: int) -> None:
        """``count`` instances got new messages: wake that many sleeping workers, not all.

        A worker that is busy does not need waking: it claims again before it sleeps,
        and it sleeps only if no signal arrived since its last look.
        """
        with self._orchestration_wake:
            self._orchestration_signal += 1
            self._orchestration_wake.notify(count)

    # -- summaries -------------------------------------------------------------------------
    def _count(self, what: str, n: int = 1) -> None:
        with self._counts_lock:
            self._counts[what] = self._counts.get(what, 0) + n

    def _maybe_summarize(self, *, force: bool = False) -> None:
        """Every SUMMARY_EVERY seconds, one INFO line with what happened since the last."""
        now = time.monotonic()
        if not force and now < self._summary_at:
            return
        with self._counts_lock:
            if not force and now < self._summary_at:
                return
            counts, self._counts = self._counts, {}
            self._summary_at = now + SUMMARY_EVERY
        if counts:
            parts = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
            log.info("work done: %s", parts)

    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    target()
                    return
                except Exception:
                    self.errors += 1
                    log.exception(
                        "internal error in %s; restarting it", threading.current_thread().name
                    )
                    self._stop.wait(0.5)

        return run

    # -- orchestrations ---------------------------------------------------------------------
    def _wait_orchestrations(self, seen: int, due: datetime | None) -> None:
        """Sleep until woken, until the next timer is ``due``, or for IDLE_WAIT."""
        wait = IDLE_WAIT
        if due is not None:
            wait = max(0.0, min(wait, (due - self.clock.now()).total_seconds()))
        with self._orchestration_wake:
            if (
                self._orchestration_signal == seen
                and self._results.empty()
                and not self._stop.is_set()
            ):
                self._orchestrator_idle = True
                try:
                    self._orchestration_wake.wait(wait)
                finally:
                    self._orchestrator_idle = False

    def _orchestration_loop(self) -> None:
        # The store is asked for claimable instances only when it may hold some: a
        # wake signal arrived since it last had none, a timer fell due, or IDLE_WAIT
        # passed. Activity results arrive in memory and need no store query.
        store_seen: int | None = None
        due: datetime | None = None
        recheck = 0.0
        while not self._stop.is_set():
            with self._orchestration_wake:
                seen = self._orchestration_signal
            # Under load, claim several instances and commit their episodes together;
            # when work is scarce this is one episode, committed at once. Instances
            # with activity results waiting in memory come first.
            fused = self._claim_for_results()
            items = [item for item, _ in fused.values()]
            look = (
                store_seen != seen
                or time.monotonic() >= recheck
                or (due is not None and due <= self.clock.now())
            )
            while look and len(items) < EPISODE_BATCH:
                item = self.backend.claim_orchestration(self.clock.now())
                if item is None:
                    store_seen, due = seen, self.backend.next_visible_at(self.clock.now())
                    recheck = time.monotonic() + IDLE_WAIT
                    break
                items.append(item)
            if not items:
                self._maybe_summarize()
                self._wait_orchestrations(seen, due)
                continue
            self.run_episodes(items, {key: results for key, (_, results) in fused.items()})

    def _claim_for_results(self) -> dict[str, tuple[OrchestrationWorkItem, _Results]]:
        """Claim the instances whose activity results are waiting in memory.

        Each episode consumes its results and commits them: no transaction of their
        own, no claim query. Results whose instance cannot be claimed here (another
        worker has it, or it is gone) are stored as messages instead.
        """
        by_instance: dict[str, _Results] = {}
        for result in self._drain_results([]):
            by_instance.setdefault(result[0].instance_id, []).append(result)
        if not by_instance:
            return {}
        items: dict[str, OrchestrationWorkItem] = {}
        try:
            items = self.backend.claim_instances(by_instance, self.clock.now())
        except Exception:
            self.errors += 1
            log.exception("cannot claim %s for their activity results", ", ".join(by_instance))
        claimed: dict[str, tuple[OrchestrationWorkItem, _Results]] = {}
        stored: _Results = []
        for instance_id, results in by_instance.items():
            item = items.get(instance_id)
            if item is None:
                stored += results
            else:
                claimed[instance_id] = (item, results)
        self._count("activity results", sum(len(r) for r in by_instance.values()))
        if stored:
            self.backend.complete_activities(stored)
            self._log_committed(stored)
            self._wake_orchestrations(len({item.instance_id for item, _ in stored}))
        return claimed

    @staticmethod
    def _log_committed(results: _Results) -> None:
        if results and log.isEnabledFor(logging.DEBUG):
            done = ", ".join(f"{i.instance_id}#{i.task_id}" for i, _ in results)
            log.debug("committed activity results: %s", done)

    def run_episodes(
        self,
        items: list[OrchestrationWorkItem],
        consumed: dict[str, _Results] | None = None,
        *,
        start: bool = True,
    ) -> list[tuple[ActivityWorkItem, bool]]:
        """Run claimed episodes, then commit them in one transaction (one savepoint each).

        An episode that fails inside the host is logged and released unchanged, so its
        messages are claimed again (the activity results it ``consumed``, by instance
        id, are stored as messages); the others are unaffected. Activities the episodes
        schedule start right away on free slots, claimed in the episodes' own
        transaction (returned, each with whether it is its episode's only activity, a
        chain's step; with ``start=False`` the caller starts them); the rest wait for
        the activity claimer.
        """
        consumed = consumed or {}
        hits = self.sessions.hits
        committed = driver.run_episodes(
            self.backend,
            items,
            self.app,
            self.clock,
            self._episodes,
            slots=self._slot_pool,
            on_error=self._episode_failed,
        )
        claimed: list[tuple[ActivityWorkItem, bool]] = []
        self._count("episodes", len(committed))
        if self.sessions.hits > hits:
            self._count("in a session", self.sessions.hits - hits)
        for episode in committed:
            item, outcome, started = episode.item, episode.outcome, episode.started
            if isinstance(started, Exception):
                self.errors += 1
                log.error(
                    "internal error committing the episode of %s: %s",
                    item.instance.instance_id,
                    started,
                )
                self._stop.wait(0.2)  # its messages are claimed again: do not spin
                continue
            self._log_committed(consumed.get(item.instance.instance_id, []))
            self._after_episode(item, outcome, len(started))
            claimed += [(activity, len(outcome.activities) == 1) for activity in started]
        if start:
            for activity, step in claimed:
                self._start_activity(activity, chain=step)
        return claimed

    def _episode_failed(self, item: OrchestrationWorkItem) -> None:
        """An episode failed inside the host; the driver released it already."""
        self.errors += 1
        log.exception("episode of %s failed inside the host", item.instance.instance_id)
        self._stop.wait(0.2)  # do not spin on an episode that keeps failing

    def _after_episode(
        self, item: OrchestrationWorkItem, outcome: engine.EpisodeOutcome, started: int
    ) -> None:
        name = item.instance.name
        if outcome.instance.runtime_status is not item.instance.runtime_status:
            status = outcome.instance.runtime_status.value
            if outcome.instance.runtime_status is RuntimeStatus.Failed:
                log.warning(
                    "orchestration %s (%s) failed: %s",
                    name,
                    item.instance.instance_id,
                    json.loads(outcome.instance.output or "null"),
                )
            else:
                log.debug("orchestration %s (%s) is %s", name, item.instance.instance_id, status)
            self._count(f"orchestrations {status.lower()}")
            if outcome.instance.runtime_status.is_terminal and self.on_finished is not None:
                try:
                    self.on_finished(item.instance.instance_id)
                except Exception:
                    log.exception("on_finished failed for %s", item.instance.instance_id)
        if len(outcome.activities) > started:
            self._activity_wake.set()
        if outcome.entity_messages:
            self._entity_wake.set()
        woken = len({m.instance_id for m in outcome.messages}) + len(outcome.new_instances)
        if woken or outcome.timers:
            # A new timer changes how long idle workers may sleep: wake one to look.
            self._wake_orchestrations(max(1, woken))

    # -- activities ------------------------------------------------------------------------
    def _activity_loop(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=IDLE_WAIT):
                continue
            # Take every free slot, then claim that many items in one transaction.
            free = 1
            while self._slots.acquire(blocking=False):
                free += 1
            items: list[ActivityWorkItem] = []
            try:
                self._activity_wake.clear()
                items = self.backend.claim_activities(free)
            finally:
                for _ in range(free - len(items)):
                    self._slots.release()
            if not items:
                self._activity_wake.wait(IDLE_WAIT)
                continue
            for item in items:
                self._start_activity(item)

    def _mark_activity_thread(self) -> None:
        self._local.activity_thread = True

    def _start_activity(self, item: ActivityWorkItem, *, chain: bool = False) -> None:
        log.debug("activity %s (%s #%d) started", item.name, item.instance_id, item.task_id)
        started = time.perf_counter()
        try:
            future: Future[str] = driver.start_activity(item, self.app, self._pool)
        except Exception as exc:  # unknown activity, decode error, …
            if self._stop.is_set():  # the pool is shut down: the work item stays claimed
                self._slots.release()
                return
            self._deliver(item, self._activity_result(item, started, None, exc))
            return

        self._watch(item, started, future, chain=chain)

    def _activity_result(
        self,
        item: ActivityWorkItem,
        started: float,
        future: Future[str] | None,
        error: BaseException | None = None,
    ) -> OrchestrationMessage:
        """Log how the activity ended and build its result message (whoever then hands
        the message on frees the activity's slot)."""
        try:
            result = None
            if future is not None:
                error = future.exception()
                result = None if error else future.result()
            ms = (time.perf_counter() - started) * 1000
            if error is None:
                log.debug(
                    "activity %s (%s #%d) completed in %.0f ms",
                    item.name,
                    item.instance_id,
                    item.task_id,
                    ms,
                )
            else:
                log.warning(
                    "activity %s (%s #%d) failed: %s: %s",
                    item.name,
                    item.instance_id,
                    item.task_id,
                    type(error).__name__,
                    error,
                )
            return driver.activity_result_message(item, result, error, now=self.clock.now())
        except BaseException:
            self._slots.release()  # no message to hand on
            raise

    def _deliver(self, item: ActivityWorkItem, message: OrchestrationMessage) -> None:
        """Hand an activity result to the orchestration worker, then free its slot (in
        that order: the activity claimer that the slot wakes finds the result queued)."""
        try:
            self._results.put((item, message))
        finally:
            self._slots.release()
        with self._orchestration_wake:  # the results queue is no store work: no signal
            self._orchestration_wake.notify()

    def _chain_may_go_on(self) -> bool:
        """The worker sleeps with nothing queued, and two episodes may run at once."""
        return (
            self._orchestrator_idle
            and self._results.empty()
            and self.max_orchestrations > 1
            and not self._stop.is_set()
        )

    def _watch(
        self, item: ActivityWorkItem, started: float, future: Future[str], *, chain: bool = False
    ) -> None:
        """Deliver the activity's result when it ends (or, for a ``chain``'s step, go on
        with the chain)."""

        def done(f: Future[str]) -> None:
            if f.cancelled():
                self._slots.release()  # host shutting down; the work item stays claimed
                return
            message = self._activity_result(item, started, f)
            if (
                chain
                and getattr(self._local, "activity_thread", False)
                and self._chain_may_go_on()
                and self._chain.acquire(blocking=False)
            ):
                try:
                    self._continue_chain(item, message)
                finally:
                    self._chain.release()
                    # Messages that came for the instance while this thread held it
                    # found the worker unable to claim it: let it look again.
                    self._wake_orchestrations(1)
                return
            self._deliver(item, message)

        future.add_done_callback(done)

    def _continue_chain(self, item: ActivityWorkItem, message: OrchestrationMessage) -> None:
        """Run the episode that consumes ``message`` here, on the activity's thread, and
        the next activity too when the episode starts only that one, and so on.

        Only for an episode's only activity, and only while the orchestration worker
        sleeps with nothing queued (see ``_watch``): a lone chain then costs no hand-off
        between threads per step, while under load results go to the worker, which
        commits them in batches. One chain at a time (``_chain``), so at most two threads
        run episodes. The claims and commits are the worker's (a crash loses nothing
        more); episodes and sync activities do not care which thread runs them.
        """
        while True:
            key = item.instance_id
            work: dict[str, OrchestrationWorkItem] = {}
            if not self._stop.is_set():
                try:
                    work = self.backend.claim_instances({key: [(item, message)]}, self.clock.now())
                except Exception:
                    log.debug("chain of %s handed over: claim failed", key, exc_info=True)
            if key not in work:  # stopping, claimed elsewhere or gone: the worker decides
                self._deliver(item, message)
                return
            self._slots.release()  # the activity's; the episode takes the next one's
            self._count("activity results")
            self._count("episodes on an activity thread")
            following = self.run_episodes([work[key]], {key: [(item, message)]}, start=False)
            if len(following) != 1 or not following[0][1] or not self._chain_may_go_on():
                for activity, step in following:
                    self._start_activity(activity, chain=step)
                return
            item = following[0][0]
            log.debug("activity %s (%s #%d) started", item.name, key, item.task_id)
            started = time.perf_counter()
            try:
                future: Future[str] = driver.start_activity(item, self.app, _HERE)
            except Exception as exc:
                message = self._activity_result(item, started, None, exc)
                continue
            if not future.done():  # an async activity, on the app's event loop
                self._watch(item, started, future, chain=True)
                return
            message = self._activity_result(item, started, future)

    def _drain_results(
        self, batch: list[tuple[ActivityWorkItem, OrchestrationMessage]]
    ) -> list[tuple[ActivityWorkItem, OrchestrationMessage]]:
        """Add every result queued right now to ``batch`` (without waiting) and return it."""
        while True:
            try:
                batch.append(self._results.get_nowait())
            except queue.Empty:
                return batch

    def _flush_results(self) -> None:
        batch = self._drain_results([])
        if batch:
            self.backend.complete_activities(batch)

    # -- entities --------------------------------------------------------------------------
    def _entity_loop(self) -> None:
        while not self._stop.is_set():
            item = self.backend.claim_entity()
            if item is None:
                self._entity_wake.wait(IDLE_WAIT)
                self._entity_wake.clear()
                continue
            try:
                self.run_entity_batch(item)
            except Exception:
                self.errors += 1
                log.exception("entity batch of %s failed inside the host", item.entity.entity_id)
                self.backend.abandon_entity(item)
                self._stop.wait(0.2)

    def run_entity_batch(self, item: EntityWorkItem) -> None:
        """Run one entity batch and commit its state and responses."""
        outcome = driver.run_entity_batch(item, self.app, self.clock)
        self.backend.complete_entity(item, outcome)
        self._count("entity batches")
        if outcome.messages:
            self._wake_orchestrations(len({m.instance_id for m in outcome.messages}))
