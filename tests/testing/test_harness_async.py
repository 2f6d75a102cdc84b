"""``async def`` orchestrators in the test harness: the same runs as generator orchestrators,
in virtual time, with sessions and without, and ``durable replay`` of their histories."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import order_example
import pytest

import durable_functions as df
from durable_functions.testing import OrchestrationTestEnv
from durable_functions.testing._apps import load_app_object
from durable_functions.testing.replayer import parse_history, replay_history

app = df.DFApp()
bp = df.Blueprint()
process_order = bp.orchestration_trigger(context_name="context")(order_example.process_order)


@bp.orchestration_trigger(context_name="context")
async def ship(context: df.DurableOrchestrationContext):
    return len(context.get_input()["payments"])


@bp.activity_trigger(input_name="order")
def reserve(order: dict) -> str:
    return "reserved"


@bp.activity_trigger(input_name="amount")
async def charge(amount: int) -> int:
    return amount * 100


app.register_functions(bp)


@app.orchestration_trigger(context_name="context")
async def sleeps(context: df.DurableOrchestrationContext):
    await asyncio.sleep(5)  # durable: ignore[DF007]


@app.orchestration_trigger(context_name="context")
async def crashes_and_retries(context: df.DurableOrchestrationContext):
    try:
        return await context.call_activity("fragile", 1)
    except Exception as error:
        return f"caught: {error}"


@app.activity_trigger(input_name="value")
def fragile(value: int) -> int:
    raise RuntimeError("the activity failed")


ORDER = {"payments": [1, 2]}


@pytest.mark.parametrize("sessions", [True, False], ids=["sessions", "full-replay"])
def test_the_issue_example_runs_when_the_event_wins(sessions: bool) -> None:
    env = OrchestrationTestEnv(app, sessions=sessions)

    result = env.run(process_order, ORDER, events=[("cancel", "by customer")])

    assert result.raise_for_status().output == {
        "results": [100, 200],
        "summary": 2,
        "cancelled": "by customer",
    }


def test_the_timer_wins_after_an_hour_of_virtual_time() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("process_order", ORDER)

    assert result.output["cancelled"] is None
    assert result.last_updated_time - result.created_time >= timedelta(hours=1)


def test_a_failed_activity_is_caught_at_the_await() -> None:
    result = OrchestrationTestEnv(app).run(crashes_and_retries)

    assert result.output.startswith("caught: Activity function 'fragile' failed")


def test_awaiting_asyncio_sleep_fails_with_the_named_error() -> None:
    result = OrchestrationTestEnv(app).run(sleeps)

    assert not result.is_completed
    assert "awaited asyncio.sleep" in (result.error or "")


async def test_the_harness_runs_async_orchestrators_from_an_async_test() -> None:
    """A running event loop in the test's thread changes nothing."""
    result = OrchestrationTestEnv(app).run(process_order, ORDER, events=[("cancel", 1)])

    assert result.is_completed
    await asyncio.sleep(0)


def test_an_unregistered_async_function_runs_as_an_orchestrator() -> None:
    async def adhoc(context: df.DurableOrchestrationContext):
        return await context.call_activity("reserve", None)

    assert OrchestrationTestEnv(app).run(adhoc).output == "reserved"


def test_durable_replay_of_an_async_history_finds_no_mismatch() -> None:
    env = OrchestrationTestEnv(app)
    instance_id = env.start(process_order, ORDER)
    env.raise_event(instance_id, "cancel", "x")
    env.run_until_idle()

    recorded = parse_history(env.export_history(instance_id))
    report = replay_history(load_app_object(app), recorded)

    assert report.ok, report
    assert env.result(instance_id).is_completed


V1_ORCHESTRATOR = """
import durable_functions as df


async def chain(context: df.DurableOrchestrationContext):
    first = await context.call_activity("Shout", context.get_input())
    return [first, await context.call_activity("Shout", first)]


main = df.Orchestrator.create(chain)
"""


def test_a_v1_app_runs_an_async_orchestrator_made_with_orchestrator_create(
    tmp_path: Path,
) -> None:
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    for name, code, trigger in [
        ("AsyncChain", V1_ORCHESTRATOR, "orchestrationTrigger"),
        (
            "Shout",
            "def main(text: str) -> str:\n    return text.upper() + '!'\n",
            "activityTrigger",
        ),
    ]:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "__init__.py").write_text(code)
        binding = {"name": "context" if name == "AsyncChain" else "text", "type": trigger}
        (folder / "function.json").write_text(
            json.dumps({"bindings": [{**binding, "direction": "in"}]})
        )

    result = OrchestrationTestEnv(str(tmp_path)).run("AsyncChain", "hi")

    assert result.raise_for_status().output == ["HI!", "HI!!"]
