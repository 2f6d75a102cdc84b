"""The public names of ``durable_functions.testing`` (pinned, and importable)."""

from __future__ import annotations

import durable_functions.testing as testing
from durable_functions.testing import run_orchestration

EXPECTED = {
    "ActivityCall",
    "ExternalEvent",
    "Finding",
    "Mismatch",
    "OrchestrationResult",
    "OrchestrationTestEnv",
    "ReplayReport",
    "TestDurableClient",
    "lint_paths",
    "lint_source",
    "load_histories",
    "orchestrator_generator_wrapper",
    "replay_files",
    "replay_history",
    "run_orchestration",
}


def test_the_facade_exports_exactly_the_documented_names() -> None:
    assert set(testing.__all__) == EXPECTED


def test_every_exported_name_resolves() -> None:
    assert all(getattr(testing, name) is not None for name in testing.__all__)


def test_run_orchestration_runs_a_generator_without_an_app() -> None:
    def orchestrator(context):  # type: ignore[no-untyped-def]
        return context.get_input() * 2
        yield  # a generator that never needs to yield

    result = run_orchestration(None, orchestrator, 21)

    assert result.output == 42
