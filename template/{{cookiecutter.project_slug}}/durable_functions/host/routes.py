"""App routes and function keys: how the Functions host picks and guards an HTTP function.

Route templates are ASP.NET style (``{name}``, ``{id?}``, ``{n:int}``, ``{*rest}``),
ranked as the host ranks them (literal segments first, catch-alls last).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from durable_functions.errors import HostError

_PARAM = re.compile(
    r"\{(\*{1,2})?([A-Za-z_][A-Za-z0-9_]*)((?::[^}=?]+(?:\([^)]*\))?)*)(\?)?(?:=([^}]*))?\}"
)
_CONSTRAINT = re.compile(r":([a-zA-Z]+)(?:\(([^)]*)\))?")


def _check_constraint(value: str, name: str, arg: str | None) -> bool:
    try:
        if name in ("int", "long"):
            int(value)
        elif name in ("double", "float", "decimal"):
            float(value)
        elif name == "bool":
            return value.lower() in ("true", "false")
        elif name == "alpha":
            return value.isalpha()
        elif name == "guid":
            uuid.UUID(value)
        elif name == "datetime":
            datetime.fromisoformat(value)
        elif name == "min" and arg is not None:
            return int(value) >= int(arg)
        elif name == "max" and arg is not None:
            return int(value) <= int(arg)
        elif name == "minlength" and arg is not None:
            return len(value) >= int(arg)
        elif name == "maxlength" and arg is not None:
            return len(value) <= int(arg)
        elif name == "length" and arg is not None:
            bounds = [int(x) for x in arg.split(",")]
            return bounds[0] <= len(value) <= bounds[-1]
        elif name == "regex" and arg is not None:
            return re.fullmatch(arg, value) is not None
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class RouteTemplate:
    """A compiled route template such as ``users/{id:int}/{tab?}``."""

    template: str
    regex: re.Pattern[str]
    constraints: tuple[tuple[str, str, str | None], ...]
    defaults: tuple[tuple[str, str], ...]

    @classmethod
    def compile(cls, template: str) -> RouteTemplate:
        """Compile a template; literal segments match case-insensitively."""
        pieces: list[str] = []
        constraints: list[tuple[str, str, str | None]] = []
        defaults: list[tuple[str, str]] = []
        for segment in [s for s in template.strip("/").split("/") if s]:
            whole = _PARAM.fullmatch(segment)
            if whole:
                star, name, spec, optional, default = whole.groups()
                for cname, carg in _CONSTRAINT.findall(spec or ""):
                    constraints.append((name, cname.lower(), carg or None))
                if default is not None:
                    defaults.append((name, default))
                if star:
                    pieces.append(f"(?:/(?P<{name}>.*))?")
                elif optional or default is not None:
                    pieces.append(f"(?:/(?P<{name}>[^/]+))?")
                else:
                    pieces.append(f"/(?P<{name}>[^/]+)")
                continue
            regex = ""
            position = 0
            for match in _PARAM.finditer(segment):
                regex += re.escape(segment[position : match.start()])
                _star, name, spec, _optional, _default = match.groups()
                for cname, carg in _CONSTRAINT.findall(spec or ""):
                    constraints.append((name, cname.lower(), carg or None))
                regex += f"(?P<{name}>[^/]+?)"
                position = match.end()
            regex += re.escape(segment[position:])
            pieces.append("/" + regex)
        pattern = re.compile("".join(pieces) + "/?", re.IGNORECASE)
        return cls(template, pattern, tuple(constraints), tuple(defaults))

    def match(self, path: str) -> dict[str, str] | None:
        """Route values for ``path`` (starting with ``/``), or None if it does not match."""
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        values = {k: v for k, v in found.groupdict().items() if v is not None}
        for name, value in self.defaults:
            values.setdefault(name, value)
        for name, cname, carg in self.constraints:
            if name in values and not _check_constraint(values[name], cname, carg):
                return None
        return values


def route_rank(template: str) -> tuple[int, ...]:
    """ASP.NET-like precedence: literal segments beat parameters, catch-alls lose."""
    rank = []
    for segment in [s for s in template.strip("/").split("/") if s]:
        match = _PARAM.fullmatch(segment)
        if match is None:
            rank.append(0 if "{" not in segment else 1)
        elif match.group(1):
            rank.append(4)
        elif match.group(4) or match.group(5) is not None:
            rank.append(3)
        elif match.group(3):
            rank.append(1)
        else:
            rank.append(2)
    return tuple(rank)


# --------------------------------------------------------------------------------------
# Function keys
# --------------------------------------------------------------------------------------


SYSTEM_KEY = "durabletask_extension"
"""The name of the task hub's system key, which opens the management API (as in Azure)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionKeys:
    """Keys checked when ``--require-keys`` is on (``.durable/keys.json`` in the app folder)."""

    function_keys: Mapping[str, str]
    master_key: str
    system_key: str = ""
    """Opens the Durable management API (``systemKeys.durabletask_extension``)."""

    @classmethod
    def load_or_create(cls, path: Path) -> FunctionKeys:
        """Read the keys file, creating it (owner-only, mode 0600) with random keys.

        A file from an older version gets its missing system key added; a file others
        can read is made owner-only (it holds secrets).
        """
        data: dict[str, Any] = {}
        if path.is_file():
            try:
                data = dict(json.loads(path.read_text(encoding="utf-8")))
                keys = {str(k): str(v) for k, v in dict(data.get("functionKeys") or {}).items()}
                master = str(data["masterKey"])
                system = str(dict(data.get("systemKeys") or {}).get(SYSTEM_KEY) or "")
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise HostError(f"cannot read {path}: {exc}") from exc
        else:
            keys = {"default": secrets.token_urlsafe(24)}
            master = secrets.token_urlsafe(32)
            system = ""
        if not system:
            system = secrets.token_urlsafe(32)
            data.update(functionKeys=keys, masterKey=master, systemKeys={SYSTEM_KEY: system})
            _write_private(path, json.dumps(data, indent=2) + "\n")
        _make_private(path)
        return cls(function_keys=keys, master_key=master, system_key=system)

    def opens_management(self, presented: str | None) -> bool:
        """Whether the presented key opens the management API (system or master key)."""
        if not presented or not presented.isascii():
            return False
        return any(secrets.compare_digest(presented, k) for k in (self.system_key, self.master_key))

    def allows(self, auth_level: str, presented: str | None) -> bool:
        """Whether the presented key opens a function of that auth level."""
        if auth_level == "anonymous":
            return True
        if not presented or not presented.isascii():
            return False  # keys are ASCII; compare_digest refuses other text
        if secrets.compare_digest(presented, self.master_key):
            return True
        if auth_level == "admin":
            return False
        return any(secrets.compare_digest(presented, k) for k in self.function_keys.values())


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (from the first byte on)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise HostError(f"cannot write {path}: {exc}") from exc


def _make_private(path: Path) -> None:
    with contextlib.suppress(OSError):  # Windows or a foreign owner: nothing to tighten
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
