"""A session's actions as the host reads them, built once per action.

A full replay re-encodes every action at every episode; an orchestration session
(``replay.OrchestrationSession``) hands the engine the parsed state instead, and these
helpers keep that O(new actions) per episode: ``ActionMark`` checks only what an episode
added, ``ActionJson`` keeps each action's wire dict from episode to episode.
"""

from __future__ import annotations

import json
from typing import Any

from durable_functions.actions import Action, CreateTimerAction
from durable_functions.serialization import df_dumps


class ActionMark:
    """Where the action lists stood before an episode, to check only what it added."""

    __slots__ = ("_groups", "_sizes")

    def __init__(self, groups: list[list[Action]]) -> None:
        self._groups = len(groups)
        self._sizes = len(groups[-1]) if groups else 0

    def added(self, groups: list[list[Action]]) -> list[Action]:
        """The actions appended to ``groups`` since the mark."""
        if not groups:
            return []
        start = max(self._groups - 1, 0)
        first = groups[start][self._sizes :] if start < len(groups) and self._groups else []
        rest = groups[start + 1 :] if self._groups else groups
        return [*first, *(action for group in rest for action in group)]

    def encodable(self, actions: list[list[Action]], output: Any, custom_status: Any) -> bool:
        """Whether what the episode added encodes as the full state's text would encode it."""
        parts = ([action.to_json() for action in self.added(actions)], output, custom_status)
        try:
            json.dumps(parts)
        except (TypeError, ValueError):
            return False  # custom objects: the full state takes ``df_dumps``'s slow path
        return True


_Watched = tuple[list[dict[str, Any]], int, Action, list[Any], tuple[bool, ...]]
"""Where a dict holding timers sits, its action, the timers and their last flags."""


class ActionJson:
    """The actions' wire dicts across a session's episodes, each built once.

    The dict of an action is kept; only timers (and groups holding one) are built
    again, when their ``isCanceled`` flag changed, the one thing an action can change
    after it was sent. So the state the engine reads costs O(new actions) per episode.
    """

    __slots__ = ("groups", "_watched")

    def __init__(self) -> None:
        self.groups: list[list[dict[str, Any]]] = []
        self._watched: list[
            tuple[list[dict[str, Any]], int, Action, list[Any], tuple[bool, ...]]
        ] = []

    def sync(self, groups: list[list[Action]]) -> list[list[dict[str, Any]]]:
        cached = self.groups
        for index, group in enumerate(groups):
            if index == len(cached):
                cached.append([])
            target = cached[index]
            for position in range(len(target), len(group)):
                action = group[position]
                target.append(action.to_json())
                timers = _timers_in(action)
                if timers:
                    flags = tuple(timer.is_cancelled for timer in timers)
                    self._watched.append((target, position, action, timers, flags))
        for slot, (target, position, action, timers, flags) in enumerate(self._watched):
            now = tuple(timer.is_cancelled for timer in timers)
            if now != flags:
                target[position] = action.to_json()
                self._watched[slot] = (target, position, action, timers, now)
        return cached


def _timers_in(action: Action) -> list[Any]:
    """The timer actions in ``action`` (itself, or inside a group)."""
    if isinstance(action, CreateTimerAction):
        return [action]
    children = getattr(action, "compound_tasks", None)
    if not children:
        return []
    return [timer for child in children for timer in _timers_in(child)]


def plain(value: Any) -> Any:
    """``value`` as it reads back from the host's JSON (tuples become lists, …)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = df_dumps(value)
    return json.loads(text)
