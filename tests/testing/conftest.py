"""Keep tests that import apps from files from leaking them into other tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_imported_apps() -> Iterator[None]:
    """Undo ``function_app`` imports and ``sys.path`` entries a test added."""
    path = list(sys.path)
    before = sys.modules.get("function_app")
    yield
    sys.path[:] = path
    if before is None:
        sys.modules.pop("function_app", None)
    else:
        sys.modules["function_app"] = before
