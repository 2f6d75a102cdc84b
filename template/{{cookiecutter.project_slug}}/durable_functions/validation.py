"""Configuration checks the reference SDK runs when it is imported.

``azure.durable_functions`` runs both checks as a side effect of ``import``. This
package does not: importing it stays cheap and free of warnings (a warning at
import time turns into an error under ``pytest -W error``, and the v1 check reads
the working directory of whatever process imports the SDK). Call them explicitly
where an app is loaded, e.g. in a start-up check.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from pathlib import Path

from durable_functions.errors import DurableFunctionsCompatibilityWarning

__all__ = ["validate_extension_bundles", "validate_v1_programming_model"]

logger = logging.getLogger("durable_functions.validation")

# The range the VS Code template wrote for Extension Bundles v1.
_BUNDLES_V1_RANGE = "[1.*, 2.0.0)"

_DURABLE_REQUIREMENT = re.compile(
    r"^azure[-_.]functions[-_.]durable(?:\[[^\]]+\])?\s*"
    r"(?P<specifier>(?:===|~=|==|!=|<=|>=|<|>).*)?$",
    re.IGNORECASE,
)
_VERSION_CLAUSE = re.compile(r"(===|~=|==|<=|>=|!=|<|>)\s*([^,\s]+)")


def validate_extension_bundles() -> None:
    """Warn (``UserWarning``) if ``./host.json`` selects Extension Bundles v1.

    Entities and the newer Durable features need bundles v2 or later. A missing
    or unreadable ``host.json`` is not this check's business and is ignored.
    """
    host_file = Path("host.json")
    try:
        settings = json.loads(host_file.read_text(encoding="utf-8"))
        version_range = settings["extensionBundle"]["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if version_range == _BUNDLES_V1_RANGE:
        warnings.warn(
            "Your application is configured to use Extension Bundles V1. Durable Functions "
            "for Python needs Bundles V2 or later for Durable Entities and current features: "
            'set "extensionBundle": {"version": "[4.*, 5.0.0)"} in host.json.',
            UserWarning,
            stacklevel=2,
        )


def _app_root() -> Path | None:
    """The app folder: ``$AzureWebJobsScriptRoot`` or the CWD, whichever holds host.json."""
    candidates = []
    script_root = os.environ.get("AzureWebJobsScriptRoot")  # noqa: SIM112 - the host sets it so
    if script_root:
        candidates.append(Path(script_root))
    candidates.append(Path.cwd())
    for candidate in candidates:
        if (candidate / "host.json").is_file():
            return candidate
    return None


def _release(version: str) -> tuple[int, ...]:
    match = re.match(r"^v?(\d+(?:\.\d+)*)", version)
    if match is None:
        return ()
    return tuple(int(part) for part in match.group(1).split("."))


def _excludes_v2(specifier: str) -> bool:
    """Whether a version specifier provably keeps azure-functions-durable below 2."""
    for operator, version in _VERSION_CLAUSE.findall(specifier):
        release = _release(version)
        if not release:
            continue
        if operator in ("==", "===", "~=", "<=") and release[0] < 2:
            return True
        if operator == "<" and (
            release[0] < 2 or (release[0] == 2 and all(part == 0 for part in release[1:]))
        ):
            return True
    return False


def _pins_durable_below_2(app_root: Path) -> bool:
    path = app_root / "requirements.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return False
    for raw_line in text.splitlines():
        line = re.sub(r"\s+#.*$", "", raw_line).strip()
        if ";" in line:
            # Environment markers need `packaging` to evaluate; skip rather than guess.
            continue
        match = _DURABLE_REQUIREMENT.match(line)
        if match and _excludes_v2(match.group("specifier") or ""):
            return True
    return False


def _has_function_json(app_root: Path) -> bool:
    try:
        with os.scandir(app_root) as entries:
            return any(
                entry.is_dir() and Path(entry.path, "function.json").is_file() for entry in entries
            )
    except OSError:
        logger.debug("Cannot list %s to look for function.json files", app_root, exc_info=True)
        return False


def validate_v1_programming_model() -> None:
    """Warn (``DurableFunctionsCompatibilityWarning``) if the app uses ``function.json`` files.

    The app root is ``$AzureWebJobsScriptRoot`` or the working directory (whichever
    holds ``host.json``); an app whose ``requirements.txt`` pins
    ``azure-functions-durable`` below 2 has made its choice and is not warned.
    """
    app_root = _app_root()
    if app_root is None or _pins_durable_below_2(app_root):
        return
    if _has_function_json(app_root):
        warnings.warn(
            "Your application uses the legacy Python v1 programming model (function.json "
            "files). azure-functions-durable 2.x does not support it, and the local host and "
            "testing toolkit of this package only index v2 apps (function_app.py). Migrate to "
            "the Python v2 programming model, or pin `azure-functions-durable<2` in "
            "requirements.txt to keep the v1 model.",
            DurableFunctionsCompatibilityWarning,
            stacklevel=2,
        )
