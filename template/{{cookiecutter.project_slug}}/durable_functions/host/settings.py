"""Read ``host.json`` and ``local.settings.json`` the way Core Tools does.

Only the parts the local host honours are modelled; everything else in the files is
ignored on purpose (a deployed app keeps working with the same files).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from durable_functions.errors import HostError
from durable_functions.host.sessions import SessionSettings

log = logging.getLogger("durable_functions.host")

DEFAULT_HUB = "TestHubName"
"""The hub name the Durable extension uses when host.json names none."""

_VAR = re.compile(r"%([^%]+)%")


@dataclass(frozen=True, slots=True, kw_only=True)
class HostSettings:
    """What the local host takes from an app's configuration files."""

    app_dir: Path
    """The folder holding ``function_app.py`` and ``host.json``."""
    hub_name: str = DEFAULT_HUB
    """Task hub name after ``%VAR%`` resolution."""
    default_version: str = ""
    """``extensions.durableTask.defaultVersion``: the version of new instances."""
    max_concurrent_activities: int = 10
    """``maxConcurrentActivityFunctions`` (the extension defaults to 10 x cores; 10 locally)."""
    max_concurrent_orchestrations: int = 4
    """``maxConcurrentOrchestratorFunctions``."""
    route_prefix: str = "api"
    """``extensions.http.routePrefix`` (empty string = routes at the root)."""
    values: Mapping[str, str] = field(default_factory=dict)
    """``local.settings.json`` ``Values``."""
    sessions: SessionSettings = field(default_factory=SessionSettings)
    """``extendedSessionsEnabled`` / ``extendedSessionIdleTimeoutInSeconds`` (on locally)."""
    notes: tuple[str, ...] = ()
    """Things configured but deliberately ignored locally, shown at start-up."""


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise HostError(f"cannot read {path.name}: {exc}") from exc
    if not isinstance(data, dict):
        raise HostError(f"{path.name} must hold a JSON object")
    return data


def resolve(text: str, env: Mapping[str, str]) -> str:
    """Replace ``%NAME%`` with the app setting ``NAME``, as binding expressions do."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise HostError(f"app setting {name!r} (used as %{name}%) is not defined")
        return env[name]

    return _VAR.sub(substitute, text)


def _int_setting(section: Mapping[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HostError(f"host.json extensions.durableTask.{key} must be a positive integer")
    return value


def load_settings(
    app_dir: Path, *, environ: MutableMapping[str, str] | None = None
) -> HostSettings:
    """Load both files and export ``Values`` into ``environ`` (default ``os.environ``).

    Like Core Tools, a variable already set in the environment wins over
    ``local.settings.json``.
    """
    env = os.environ if environ is None else environ
    local = _read_json(app_dir / "local.settings.json")
    values_raw = local.get("Values") or {}
    if not isinstance(values_raw, dict):
        raise HostError("local.settings.json Values must be an object")
    values = {str(k): "" if v is None else str(v) for k, v in values_raw.items()}
    for key, value in values.items():
        env.setdefault(key, value)

    host = _read_json(app_dir / "host.json")
    extensions = host.get("extensions") or {}
    durable = extensions.get("durableTask") or {}
    http = extensions.get("http") or {}
    if not isinstance(durable, dict) or not isinstance(http, dict):
        raise HostError("host.json extensions.durableTask and extensions.http must be objects")

    notes: list[str] = []
    if "storageProvider" in durable:
        notes.append("host.json storageProvider is ignored: the local host always uses SQLite")
    hub = resolve(str(durable.get("hubName") or DEFAULT_HUB), env)
    prefix = http.get("routePrefix", "api")
    if not isinstance(prefix, str):
        raise HostError("host.json extensions.http.routePrefix must be a string")
    enabled = durable.get("extendedSessionsEnabled", True)
    if not isinstance(enabled, bool):
        raise HostError(
            "host.json extensions.durableTask.extendedSessionsEnabled must be true or false"
        )
    idle = _int_setting(durable, "extendedSessionIdleTimeoutInSeconds", 30)
    return HostSettings(
        app_dir=app_dir,
        sessions=SessionSettings(enabled=enabled, idle_timeout=timedelta(seconds=idle)),
        hub_name=hub,
        default_version=str(durable.get("defaultVersion") or ""),
        max_concurrent_activities=_int_setting(durable, "maxConcurrentActivityFunctions", 10),
        max_concurrent_orchestrations=_int_setting(
            durable, "maxConcurrentOrchestratorFunctions", 4
        ),
        route_prefix=prefix.strip("/"),
        values=values,
        notes=tuple(notes),
    )
