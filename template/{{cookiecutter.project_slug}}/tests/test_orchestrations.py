"""Orchestrations run in memory with their real activities, in virtual time."""

import durable_functions as df
import pytest


def test_hello_chain_greets_every_city_in_order(durable_env) -> None:
    result = durable_env.run("hello_chain", input=["Paris", "Oslo"])
    assert result.output == ["Hello Paris!", "Hello Oslo!"]


def test_hello_chain_calls_the_activity_once_per_city(durable_env) -> None:
    result = durable_env.run("hello_chain", input=["Paris", "Oslo"])
    assert [call.name for call in result.activity_calls] == ["say_hello", "say_hello"]


def test_fan_out_fan_in_sums_the_squares(durable_env) -> None:
    result = durable_env.run("fan_out_fan_in", input=[1, 2, 3])
    assert result.output == {"squares": [1, 4, 9], "sum": 14}


def square_failing_once():
    """A stand-in for the ``square`` activity whose first call fails."""
    failures = iter([RuntimeError("transient")])

    def flaky_square(number: int) -> int:
        error = next(failures, None)
        if error is not None:
            raise error
        return number * number

    return flaky_square


def test_fan_out_fan_in_retries_a_failing_activity(durable_env) -> None:
    result = durable_env.run("fan_out_fan_in", input=[3], stubs={"square": square_failing_once()})
    assert result.output == {"squares": [9], "sum": 9}


def test_fan_out_fan_in_fails_when_retries_run_out(durable_env) -> None:
    result = durable_env.run("fan_out_fan_in", input=[3], stubs={"square": RuntimeError("down")})
    assert result.runtime_status == df.OrchestrationRuntimeStatus.Failed


def test_fan_out_fan_in_tries_an_activity_three_times(durable_env) -> None:
    result = durable_env.run("fan_out_fan_in", input=[3], stubs={"square": RuntimeError("down")})
    assert [call.name for call in result.activity_calls] == ["square"] * 3


def test_greet_and_sum_awaits_the_chain_then_the_fan_out(durable_env) -> None:
    result = durable_env.run("greet_and_sum", input={"cities": ["Lima"], "numbers": [2, 3]})
    assert result.output == {"greetings": ["Hello Lima!"], "sum": 13}


def test_greet_and_sum_schedules_the_same_activities_as_the_generator_samples(
    durable_env,
) -> None:
    result = durable_env.run("greet_and_sum", input={"cities": ["A", "B"], "numbers": [4]})
    assert [call.name for call in result.activity_calls] == ["say_hello", "say_hello", "square"]


def test_greet_and_sum_retries_a_failing_activity(durable_env) -> None:
    result = durable_env.run(
        "greet_and_sum",
        input={"cities": [], "numbers": [5]},
        stubs={"square": square_failing_once()},
    )
    assert result.output == {"greetings": [], "sum": 25}


@pytest.mark.parametrize(
    ("approved", "expected"),
    [pytest.param(True, "approved", id="approve"), pytest.param(False, "rejected", id="reject")],
)
def test_approval_workflow_follows_the_approval_event(
    durable_env, approved: bool, expected: str
) -> None:
    result = durable_env.run(
        "approval_workflow", input={"timeout_seconds": 3600}, events=[("Approval", approved)]
    )
    assert result.output == expected


def test_approval_workflow_times_out_without_an_event(durable_env) -> None:
    result = durable_env.run("approval_workflow", input={"timeout_seconds": 3600})
    assert result.output == "timed out"


@pytest.mark.parametrize(
    ("events", "status"),
    [
        pytest.param([("Approval", True)], "Approved", id="approved"),
        pytest.param([("Approval", False)], "Rejected", id="rejected"),
        pytest.param([], "Timed out", id="timed-out"),
    ],
)
def test_approval_workflow_leaves_its_outcome_as_custom_status(
    durable_env, events: list, status: str
) -> None:
    result = durable_env.run("approval_workflow", input={"timeout_seconds": 60}, events=events)
    assert result.custom_statuses[-1] == status


def test_approval_workflow_says_it_is_waiting_until_the_event(durable_env) -> None:
    instance_id = durable_env.start("approval_workflow", input={"timeout_seconds": 3600}, run=True)
    assert durable_env.result(instance_id).custom_statuses[-1] == "Waiting for approval"


def test_job_monitor_checks_until_the_job_is_done(durable_env) -> None:
    result = durable_env.run(
        "job_monitor", input={"job_id": "j1", "interval_seconds": 60, "ready_after": 3}
    )
    assert result.output == {"job_id": "j1", "state": "done", "checks": 3}


def test_job_monitor_reports_progress_in_its_custom_status(durable_env) -> None:
    result = durable_env.run(
        "job_monitor", input={"job_id": "j1", "interval_seconds": 60, "ready_after": 2}
    )
    assert result.custom_statuses[-1] == {"job_id": "j1", "checks": 2, "state": "done"}
{%- if cookiecutter.include_entity %}


def test_counter_workflow_returns_the_counter_after_adding(durable_env) -> None:
    result = durable_env.run("counter_workflow", input={"key": "k", "amount": 5})
    assert result.output == 5
{%- endif %}
