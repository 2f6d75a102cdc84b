"""Ids the engine derives: entity scheduler ids, sub-orchestration ids, deterministic GUIDs.

Pure: the same parts always give the same id, so a replayed episode derives the ids
its first run derived.
"""

from __future__ import annotations

import json
import uuid

_ID_NAMESPACE = uuid.UUID("0c6d1d2e-6d2e-4c5a-9a43-5f1f3c1b7e21")
"""Namespace of the deterministic ids (entity request ids) the engine derives."""


def entity_scheduler_id(name: str, key: str) -> str:
    """``@<lowercased name>@<key>``, the id entities are addressed by."""
    return f"@{name.lower()}@{key}"


def parse_entity_id(entity_id: str) -> tuple[str, str]:
    """Split ``@name@key`` into ``(name, key)``; raises ``ValueError`` otherwise."""
    if not entity_id.startswith("@"):
        raise ValueError(f"Not an entity id (expected '@name@key'): {entity_id!r}")
    name, sep, key = entity_id[1:].partition("@")
    if not sep or not name:
        raise ValueError(f"Not an entity id (expected '@name@key'): {entity_id!r}")
    return name, key


def derived_id(*parts: object) -> str:
    """A deterministic GUID from the given parts (replays produce the same id)."""
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def sub_orchestration_instance_id(parent_instance_id: str, task_id: int) -> str:
    """The id given to a sub-orchestration started without one: ``<parent>:<seq as 16 hex>``."""
    return f"{parent_instance_id}:{task_id:016X}"


def compact_json(text: str | None) -> str | None:
    """Re-serialize JSON text compactly, as the host stores results; non-JSON is kept as is."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
