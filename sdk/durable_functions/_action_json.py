"""A session's actions as the host reads them, built once per action.

A full replay re-encodes every action at every episode; an orchestration session
(``replay.OrchestrationSession``) hands the engine the parsed state instead, and these
helpers keep that O(new actions) per episode: ``ActionJson`` keeps each action's wire dict
from episode to episode and checks only what an episode added.
"""

from __future__ import annotations

import json
from typing import Any

from durable_functions.actions import Action, CreateTimerAction
from durable_functions.serialization import df_dumps

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
        """The dicts, grouped as the actions are (the state's ``actions``)."""
        self._watched: list[_Watched] = []

    def sync(self, groups: list[list[Action]]) -> list[dict[str, Any]]:
        """Build the dicts of the actions added since the last call; returns those."""
        cached = self.groups
        added: list[dict[str, Any]] = []
        for index, group in enumerate(groups):
            if index == len(cached):
                cached.append([])
            target = cached[index]
            for position in range(len(target), len(group)):
                action = group[position]
                added.append(action.to_json())
                target.append(added[-1])
                timers = _timers_in(action)
                if timers:
                    flags = tuple(timer.is_cancelled for timer in timers)
                    self._watched.append((target, position, action, timers, flags))
        for slot, (target, position, action, timers, flags) in enumerate(self._watched):
            now = tuple(timer.is_cancelled for timer in timers)
            if now != flags:
                target[position] = action.to_json()
                self._watched[slot] = (target, position, action, timers, now)
        return added

    def encodable(self, state: Any) -> bool:
        """Whether what an episode added (new actions, output, custom status) encodes as
        plain JSON, as the full state's text would; ``False`` sends it the slow way."""
        try:
            json.dumps((self.sync(state.actions), state.output, state.custom_status))
        except (TypeError, ValueError):
            return False  # custom objects: the full state takes ``df_dumps``'s path
        return True


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
