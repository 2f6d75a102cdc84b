"""Engine sessions: the host-side check kept between episodes of one running execution.

The SDK sends every action since the execution started and the check replays them
against the whole history, so a chain of N activities costs O(N²) in a plain engine.
A session keeps the replay as it stood after the previous episode's last history
event; the next episode only feeds it the new events and the actions beyond the ones
it consumed. It is sound only while the caller hands it exactly the history it saw
plus what its outcome added (``matches``) and while the SDK re-sends the consumed
actions unchanged (checked here, see ``resumable_actions``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from durable_functions._protocol import EventType
from durable_functions.host._check import Path, _Leaf, _Replay
from durable_functions.host._types import Event, OrchestrationWorkItem


class EngineSession:
    """One execution's check state after an episode; pass it to the next one.

    Get it from ``EpisodeOutcome.session`` and hand it back to ``prepare_episode`` and
    ``complete_episode`` for the next episode of the same instance, but only when that
    episode's history is exactly the committed one (``matches`` checks cheaply and the
    engine falls back to a full check when it does not). A session is used up by
    ``complete_episode``: the outcome carries its successor. It holds references to
    the recorded scheduling events and the last action list (memory, not state: drop
    it at will, the next episode then runs a full check).
    """

    __slots__ = ("_replay", "_instance_id", "_execution_id", "_length", "_last", "_keys", "touched")

    def __init__(
        self,
        replay: _Replay,
        *,
        instance_id: str,
        execution_id: str,
        history_length: int,
        last_event: Event | None,
        keys: set[tuple[str, int]] | None,
    ) -> None:
        self._replay: _Replay | None = replay
        self._instance_id = instance_id
        self._execution_id = execution_id
        self._length = history_length
        self._last = last_event
        self._keys = keys
        self.touched = replay.touched
        """Events and tasks the check handled in the episode that produced this session."""

    def matches(self, item: OrchestrationWorkItem) -> bool:
        """Whether ``item`` continues exactly the history this session saw (O(1))."""
        history = item.history
        return (
            self._replay is not None
            and item.instance.instance_id == self._instance_id
            and item.instance.execution_id == self._execution_id
            and len(history) == self._length
            and (not history or history[-1] == self._last)
        )

    def completion_keys(self, history: Sequence[Event]) -> set[tuple[str, int]]:
        """Completions already in ``history`` (which ``matches``): built once, then kept."""
        if self._keys is None:
            self._keys = {key for key in map(completion_key, history) if key is not None}
        return self._keys

    def take(self) -> tuple[_Replay, set[tuple[str, int]] | None]:
        """Use the session up: its replay and completion keys move to the next one."""
        replay = self._replay
        assert replay is not None
        self._replay = None
        return replay, self._keys


def completion_key(event: Event) -> tuple[str, int] | None:
    """What makes a completion a duplicate of an earlier one (its task or timer id)."""
    kind = event.get("EventType")
    if kind == EventType.TimerFired:
        task_id = event.get("TimerId")
        return ("timer", task_id) if isinstance(task_id, int) else None
    if kind in (
        EventType.TaskCompleted,
        EventType.TaskFailed,
        EventType.SubOrchestrationInstanceCompleted,
        EventType.SubOrchestrationInstanceFailed,
    ):
        task_id = event.get("TaskScheduledId")
        return ("task", task_id) if isinstance(task_id, int) else None
    return None


def resumable_actions(
    replay: _Replay, actions: list[Any]
) -> list[tuple[int, Path, _Leaf, Any]] | None:
    """Check that ``actions`` re-sends the consumed actions; the timers it canceled since.

    The full check reads every action on every episode, so a session may skip the
    consumed ones only if they are what the session replayed: equal as parsed JSON
    (one C-level list comparison, no per-action Python work). The one change a
    deterministic orchestrator makes to a consumed action is canceling a timer that
    has not fired (``isCanceled`` flips to true); the session watches those timers and
    applies the flip. Anything else that differs returns ``None``: a full check then
    finds what the code changed, exactly as without a session.
    """
    cursor = replay.cursor
    if len(actions) < cursor:
        return None
    flips: list[tuple[int, Path, _Leaf, Any]] = []
    for task_id, (path, leaf) in replay.watched.items():
        node = _at(actions, path)
        if node is None:
            return None
        flag = node.get("isCanceled")
        if flag:
            flips.append((task_id, path, leaf, flag))
    previous = replay.actions
    if actions is previous:
        return flips  # the SDK's session appended to the list it sent last: nothing to compare
    if flips:
        expected = previous[:cursor]
        patched: dict[int, Any] = {}
        for _, path, _, flag in flips:
            top = path[0]
            if top not in patched:
                patched[top] = expected[top] = copy.deepcopy(expected[top])
            node = _at(expected, path)
            assert node is not None
            node["isCanceled"] = flag
        if actions[:cursor] != expected:
            return None
    elif actions[:cursor] != previous[:cursor]:
        return None
    return flips


def _at(actions: Sequence[Any], path: Path) -> Any:
    """The action at ``path``, or ``None`` when the list no longer has that shape."""
    top = path[0]
    if top >= len(actions):
        return None
    node = actions[top]
    for position in path[1:]:
        children = node.get("compoundActions") if isinstance(node, Mapping) else None
        if not isinstance(children, list) or position >= len(children):
            return None
        node = children[position]
    return node if isinstance(node, Mapping) else None


def apply_flips(replay: _Replay, flips: list[tuple[int, Path, _Leaf, Any]]) -> None:
    """Cancel the watched timers the SDK canceled since, as a full check would see them."""
    for task_id, _, leaf, _ in flips:
        leaf.canceled = True
        replay.watched.pop(task_id, None)
        replay.cancel(task_id)
    replay.touched += len(flips)


def flat_actions(state: Mapping[str, Any], cursor: int) -> list[Any] | None:
    """The V2/V3 action list as sent (no copy), when its new part holds only actions."""
    raw = state.get("actions")
    if not state.get("schemaVersion") or not isinstance(raw, list) or len(raw) != 1:
        return None
    actions = raw[0]
    if not isinstance(actions, list):
        return None
    if not all(isinstance(action, dict) for action in actions[cursor:]):
        return None
    return actions
