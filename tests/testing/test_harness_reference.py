"""The environment is SDK-agnostic: an app written for azure-functions-durable runs unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest

pytestmark = pytest.mark.reference


def build_app(df):  # type: ignore[no-untyped-def]
    """The same app against either SDK's decorators."""
    app = df.DFApp()

    @app.orchestration_trigger(context_name="context")
    def travel(context):  # type: ignore[no-untyped-def]
        yield context.create_timer(context.current_utc_datetime + timedelta(days=7))
        tasks = [context.call_activity("book", city) for city in context.get_input()]
        booked = yield context.task_all(tasks)
        approval = yield context.wait_for_external_event("confirm")
        return {"booked": booked, "confirmed": approval}

    @app.activity_trigger(input_name="city")
    def book(city: str) -> str:
        return f"room in {city}"

    return app


def run_with(df):  # type: ignore[no-untyped-def]
    from durable_functions.testing import OrchestrationTestEnv

    env = OrchestrationTestEnv(build_app(df))
    result = env.run("travel", input=["Oslo", "Rome"], events=[("confirm", True)])
    return result.runtime_status.value, result.output, [e["EventType"] for e in result.history]


def test_a_reference_sdk_app_gives_the_same_result_and_history_as_ours() -> None:
    import azure.durable_functions as reference

    import durable_functions as ours

    assert run_with(reference) == run_with(ours)
