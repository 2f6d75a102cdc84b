"""Which packages an agent orchestrator runs with, logged once per process."""

from __future__ import annotations

import logging
from importlib import metadata

__all__ = ["log_usage_once"]

_PACKAGES = ("durable-functions-py", "openai", "openai-agents")
_logged = False


def package_versions() -> str:
    """``name=version`` of each package, comma-separated (``(not installed)`` if missing)."""
    found = []
    for name in _PACKAGES:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=(not installed)")
    return ", ".join(found)


def log_usage_once() -> None:
    """Log the versions the first time an agent orchestrator runs in this process.

    The reference prints a line prefixed for the Azure Functions host's own telemetry;
    this SDK only logs (at INFO, on ``durable_functions.openai_agents``).
    """
    global _logged
    if _logged:
        return
    _logged = True
    logging.getLogger("durable_functions.openai_agents").info(
        "OpenAI Agents SDK integration with Durable Functions; package versions: %s",
        package_versions(),
    )
