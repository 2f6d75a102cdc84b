"""Headless Chromium for the dashboard tests: Debian's ``chromium`` driven by Playwright.

Outside CI a machine without Chromium (or without Playwright) skips the browser
tests with the reason; in CI (``CI=true``) they must run, so a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) for want of a browser."""
    if in_ci():
        pytest.fail(f"{reason} (CI runs the browser tests: .ci/run installs Chromium)")
    pytest.skip(reason)


def chromium_path() -> str:
    """The Chromium executable (``$CHROMIUM`` or the first on PATH)."""
    configured = os.environ.get("CHROMIUM")
    if configured and Path(configured).is_file():
        return configured
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    unavailable("no Chromium found (apt-get install chromium, or set CHROMIUM)")
    raise AssertionError("unreachable")


def screenshots_dir(default: Path) -> Path:
    """Where the screenshots go: ``$DURABLE_TEST_ARTIFACTS/dashboard`` or ``default``."""
    root = os.environ.get("DURABLE_TEST_ARTIFACTS")
    target = Path(root) / "dashboard" if root else default
    target.mkdir(parents=True, exist_ok=True)
    return target
