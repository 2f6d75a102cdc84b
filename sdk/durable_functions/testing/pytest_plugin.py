"""pytest fixtures for Durable Functions apps.

Enable them in ``conftest.py`` (no install needed, the SDK is vendored)::

    pytest_plugins = ["durable_functions.testing.pytest_plugin"]

Fixtures:

* ``durable_env``: an ``OrchestrationTestEnv`` for the app named by the
  ``durable_app`` fixture (override it), else ``function_app.py`` (or a v1 app
  folder, with ``function.json`` folders) found from the test's folder upwards,
  else an env without an app (orchestrators passed as functions);
* ``durable_client``: ``durable_env.client()``, a ``DurableOrchestrationClient``
  answered in memory, to call HTTP starter functions with;
* ``durable_app``: the app object ``durable_env`` uses (override it to choose).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durable_functions.host.functions_v1 import is_v1_app
from durable_functions.testing.harness import OrchestrationTestEnv


def _find_app_file(start: Path) -> Path | None:
    """``function_app.py``, or the folder of a v1 app, from ``start`` upwards."""
    for folder in (start, *start.parents):
        candidate = folder / "function_app.py"
        if candidate.is_file():
            return candidate
        if is_v1_app(folder):
            return folder
        if (folder / "host.json").is_file() or (folder / "pyproject.toml").is_file():
            return None
    return None


@pytest.fixture
def durable_app(request: pytest.FixtureRequest) -> Any:
    """The app under test: ``function_app.py`` next to the tests or above them (override me)."""
    found = _find_app_file(Path(str(request.path)).parent)
    if found is None or found.is_dir():
        return found  # a v1 app is loaded from its folder
    import sys

    module = sys.modules.get("function_app")
    if module is not None and Path(str(getattr(module, "__file__", ""))) == found:
        return module
    from durable_functions.testing._apps import import_app_file

    return import_app_file(found)


@pytest.fixture
def durable_env(durable_app: Any) -> OrchestrationTestEnv:
    """An in-memory task hub in virtual time for ``durable_app``."""
    return OrchestrationTestEnv(durable_app)


@pytest.fixture
def durable_client(durable_env: OrchestrationTestEnv) -> Any:
    """A ``DurableOrchestrationClient`` answered by ``durable_env`` (no host, no network)."""
    return durable_env.client()
