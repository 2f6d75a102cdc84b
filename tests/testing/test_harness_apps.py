"""What an environment can be built from, and the host settings it can mimic."""

from __future__ import annotations

import types
from datetime import timedelta
from pathlib import Path

import pytest

import durable_functions as df
from durable_functions.errors import HostError
from durable_functions.host.engine import EngineConfig
from durable_functions.testing import OrchestrationTestEnv

blueprint = df.Blueprint()


@blueprint.orchestration_trigger(context_name="context")
def month_long(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=30))
    return "a month later"


def test_a_blueprint_is_indexed_as_if_registered_on_an_app() -> None:
    assert OrchestrationTestEnv(blueprint).run("month_long").output == "a month later"


def test_a_module_holding_blueprints_is_indexed() -> None:
    module = types.ModuleType("orchestrations")
    module.bp = blueprint  # type: ignore[attr-defined]

    assert OrchestrationTestEnv(module).run("month_long").output == "a month later"


def test_the_same_app_can_back_many_environments() -> None:
    first = OrchestrationTestEnv(blueprint).run("month_long")
    second = OrchestrationTestEnv(blueprint).run("month_long")

    assert first.output == second.output


def test_long_timers_are_split_as_on_azure_storage() -> None:
    azure_storage = EngineConfig(
        long_running_timer_interval="3.00:00:00", maximum_short_timer_duration="6.00:00:00"
    )

    result = OrchestrationTestEnv(blueprint, config=azure_storage).run("month_long")

    timers = [e for e in result.history if e["EventType"] == 10]
    assert result.output == "a month later"
    # 3-day steps until at most 6 days remain: days 3, 6, … 24, then 30.
    assert len(timers) == 9


def test_a_missing_app_file_is_a_host_error(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="no such app file"):
        OrchestrationTestEnv(tmp_path / "function_app.py")


def test_something_that_is_not_an_app_is_refused() -> None:
    with pytest.raises(HostError, match="expected a DFApp"):
        OrchestrationTestEnv(42)
