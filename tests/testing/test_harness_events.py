"""External events: raised before or after the orchestrator waits, at virtual times."""

from __future__ import annotations

from datetime import timedelta

import durable_functions as df
from durable_functions.testing import ExternalEvent, OrchestrationTestEnv

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    started = context.current_utc_datetime
    deadline = context.create_timer(started + timedelta(days=1))
    answer = context.wait_for_external_event("Approval")
    winner = yield context.task_any([answer, deadline])
    waited = (context.current_utc_datetime - started).total_seconds()
    if winner == answer:
        deadline.cancel()
        return {"approved": answer.result, "waited": waited}
    return {"approved": None, "waited": waited}


@app.orchestration_trigger(context_name="context")
def busy_then_wait(context: df.DurableOrchestrationContext):
    yield context.call_activity("work", None)
    value = yield context.wait_for_external_event("Go")
    return value


@app.activity_trigger(input_name="payload")
def work(payload: object) -> str:
    return "done"


def test_an_event_raised_before_the_wait_is_buffered_and_received() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("approval", events=[("Approval", True)])

    assert result.output == {"approved": True, "waited": 0.0}


def test_an_event_arriving_while_the_orchestrator_is_busy_is_received_by_the_later_wait() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("busy_then_wait", events=[("Go", {"n": 1})])

    assert result.output == {"n": 1}


def test_an_event_scheduled_after_the_wait_arrives_at_its_virtual_time() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run(
        "approval", events=[ExternalEvent(name="Approval", data="yes", at=timedelta(hours=2))]
    )

    assert result.output == {"approved": "yes", "waited": 7200.0}


def test_the_timeout_wins_when_the_event_comes_too_late() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("approval", events=[("Approval", True, timedelta(days=2))])

    assert result.output == {"approved": None, "waited": 86400.0}


def test_an_event_can_be_raised_while_the_orchestration_runs() -> None:
    env = OrchestrationTestEnv(app)
    instance_id = env.start("approval", run=True)

    env.advance(timedelta(hours=3))
    env.raise_event(instance_id, "Approval", False)
    env.run_until_idle()

    assert env.result(instance_id).output == {"approved": False, "waited": 10800.0}


def test_waiting_for_an_event_that_never_comes_leaves_the_instance_running() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("busy_then_wait")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Running
