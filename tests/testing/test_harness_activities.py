"""Activities run for real or through stand-ins; their calls, retries and failures are visible."""

from __future__ import annotations

import pytest

import durable_functions as df
from durable_functions.testing import OrchestrationTestEnv

app = df.DFApp()
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    cities = context.get_input()
    greetings = []
    for city in cities:
        greetings.append((yield context.call_activity("greet", city)))
    return greetings


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    tasks = [context.call_activity("square", n) for n in range(count)]
    squares = yield context.task_all(tasks)
    return sum(squares)


@app.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    value = yield context.call_activity_with_retry("flaky", RETRY, 21)
    return value


@app.orchestration_trigger(context_name="context")
def catches(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("flaky", 1)
    except Exception as error:
        return f"caught: {error}"
    return "no error"


@app.activity_trigger(input_name="city")
def greet(city: str) -> str:
    return f"Hello {city}!"


@app.activity_trigger(input_name="number")
async def square(number: int) -> int:
    return number * number


@app.activity_trigger(input_name="number")
def flaky(number: int) -> int:
    raise RuntimeError("the real service is down")


def test_real_activities_run_and_their_calls_are_recorded_in_order() -> None:
    result = OrchestrationTestEnv(app).run("chain", input=["Paris", "Oslo"])

    assert result.output == ["Hello Paris!", "Hello Oslo!"]
    assert [(c.name, c.input, c.output) for c in result.activity_calls] == [
        ("greet", "Paris", "Hello Paris!"),
        ("greet", "Oslo", "Hello Oslo!"),
    ]


def test_a_value_stand_in_replaces_the_activity() -> None:
    result = OrchestrationTestEnv(app).run("chain", input=["Rome"], stubs={"greet": "Ciao"})

    assert result.output == ["Ciao"]


def test_a_function_stand_in_receives_the_activity_input() -> None:
    result = OrchestrationTestEnv(app).run(
        "chain", input=["Rome", "Lima"], stubs={"greet": lambda city: city.upper()}
    )

    assert result.output == ["ROME", "LIMA"]


def test_an_exception_stand_in_fails_the_activity_and_the_orchestration() -> None:
    result = OrchestrationTestEnv(app).run(
        "chain", input=["Rome"], stubs={"greet": ValueError("no such city")}
    )

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Failed
    assert "Activity function 'greet' failed" in (result.error or "")
    assert "no such city" in (result.error or "")
    assert result.activity_calls[0].error is not None


def test_environment_wide_stand_ins_apply_to_every_run() -> None:
    env = OrchestrationTestEnv(app, stubs={"greet": "hi"})

    assert env.run("chain", input=["a"]).output == ["hi"]
    assert env.run("chain", input=["b"]).output == ["hi"]


def test_a_fan_out_of_1000_activities_completes_with_every_result() -> None:
    result = OrchestrationTestEnv(app).run("fan_out", input=1000)

    assert result.output == sum(n * n for n in range(1000))
    assert len(result.activity_calls) == 1000


def test_a_retried_activity_succeeds_after_failures() -> None:
    attempts = iter([RuntimeError("1st"), RuntimeError("2nd")])

    def flaky_then_fine(number: int) -> int:
        error = next(attempts, None)
        if error is not None:
            raise error
        return number * 2

    result = OrchestrationTestEnv(app).run("with_retry", stubs={"flaky": flaky_then_fine})

    assert result.output == 42
    assert [c.error is None for c in result.activity_calls] == [False, False, True]


def test_retries_wait_their_interval_in_virtual_time() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("with_retry")

    scheduled = [c.scheduled_at for c in result.activity_calls]
    assert scheduled == ["2024-01-01T00:00:00Z", "2024-01-01T00:00:05Z", "2024-01-01T00:00:10Z"]


def test_a_failure_surfaces_once_retries_are_exhausted() -> None:
    result = OrchestrationTestEnv(app).run("with_retry")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Failed
    assert len(result.activity_calls) == 3
    assert "the real service is down" in (result.error or "")


def test_an_orchestrator_can_catch_an_activity_failure() -> None:
    result = OrchestrationTestEnv(app).run("catches")

    assert result.output.startswith("caught: Activity function 'flaky' failed")


@pytest.mark.parametrize(
    "stand_in",
    [pytest.param(KeyError, id="class"), pytest.param(KeyError("k"), id="instance")],
)
def test_exception_stand_ins_may_be_classes_or_instances(stand_in: object) -> None:
    result = OrchestrationTestEnv(app).run("chain", input=["x"], stubs={"greet": stand_in})

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Failed


@app.orchestration_trigger(context_name="context")
def fetches(context: df.DurableOrchestrationContext):
    response = yield context.call_http("GET", "https://example.org/orders/7")
    return [response["statusCode"], response["content"]]


def test_a_durable_http_call_can_be_stood_in_for() -> None:
    def fake_server(request: dict[str, object]) -> dict[str, object]:
        return {"statusCode": 404, "content": f"no {request['uri']}"}

    result = OrchestrationTestEnv(app).run("fetches", stubs={"BuiltIn::HttpActivity": fake_server})

    assert result.output == [404, "no https://example.org/orders/7"]


def test_a_plain_value_stands_in_for_a_200_http_response() -> None:
    result = OrchestrationTestEnv(app).run("fetches", stubs={"BuiltIn::HttpActivity": "ok"})

    assert result.output == [200, "ok"]
