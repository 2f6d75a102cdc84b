"""Shared fixtures: the app under test and an in-memory durable test environment."""

import pytest
from durable_functions.testing import OrchestrationTestEnv

from function_app import app

pytest_plugins = ["durable_functions.testing.pytest_plugin"]


@pytest.fixture
def env() -> OrchestrationTestEnv:
    """Runs this app's orchestrations in memory, in virtual time (timers fire at once)."""
    return OrchestrationTestEnv(app)
