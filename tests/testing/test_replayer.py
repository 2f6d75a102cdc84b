"""The replayer: recorded histories against current code; changed decisions are reported."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

import durable_functions as df
from durable_functions.cli import main as durable
from durable_functions.host.payloads import status_payload
from durable_functions.testing import OrchestrationTestEnv
from durable_functions.testing.replayer import parse_history, replay_files, replay_history

RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)

recorded = df.DFApp()
same = df.DFApp()
renamed_step = df.DFApp()
dropped_step = df.DFApp()
added_step = df.DFApp()
timer_instead = df.DFApp()


def order_flow(context: df.DurableOrchestrationContext):
    """The recorded version: several kinds of decisions in one orchestration."""
    order = context.get_input()
    reserved = yield context.call_activity("reserve", order)
    yield context.create_timer(context.current_utc_datetime + timedelta(days=1))
    charged = yield context.call_activity_with_retry("charge", RETRY, reserved)
    approval = yield context.wait_for_external_event("approve")
    context.signal_entity(df.EntityId("stats", "orders"), "add", 1)
    shipped = yield context.task_all([context.call_activity("ship", i) for i in range(3)])
    child = yield context.call_sub_orchestrator("invoice", charged)
    return {"approval": approval, "shipped": shipped, "invoice": child}


def renamed_flow(context: df.DurableOrchestrationContext):
    order = context.get_input()
    reserved = yield context.call_activity("reserve_stock", order)
    return reserved


def dropped_flow(context: df.DurableOrchestrationContext):
    order = context.get_input()
    reserved = yield context.call_activity("reserve", order)
    return reserved


def added_flow(context: df.DurableOrchestrationContext):
    result = yield from order_flow(context)
    yield context.call_activity("notify", result)
    return result


def timer_flow(context: df.DurableOrchestrationContext):
    order = context.get_input()
    reserved = yield context.call_activity("reserve", order)
    yield context.call_activity("wait_a_day", reserved)
    return reserved


def invoice(context: df.DurableOrchestrationContext):
    amount = context.get_input()
    number = yield context.call_activity("number_invoice", amount)
    return number


def activity(value: object) -> object:
    return value


def stats(context: df.DurableEntityContext) -> None:
    context.set_state(context.get_state(lambda: 0) + context.get_input())


flows = {
    recorded: order_flow,
    same: order_flow,
    renamed_step: renamed_flow,
    dropped_step: dropped_flow,
    added_step: added_flow,
    timer_instead: timer_flow,
}
for app, flow in flows.items():
    app.orchestration_trigger(context_name="context", orchestration="order")(flow)
    app.orchestration_trigger(context_name="context")(invoice)
    app.entity_trigger(context_name="context", entity_name="stats")(stats)
    for name in ("reserve", "reserve_stock", "charge", "ship", "number_invoice", "notify"):
        app.function_name(name)(app.activity_trigger(input_name="value")(activity))
    app.function_name("wait_a_day")(app.activity_trigger(input_name="value")(activity))


def record() -> tuple[dict[str, object], dict[str, object]]:
    """Run the recorded version once, with a failing first charge (a retry in history).

    Returns the raw export and the ``showHistory`` status the local host would serve.
    """
    env = OrchestrationTestEnv(recorded)
    attempts = iter([RuntimeError("card declined")])

    def charge(value: object) -> object:
        error = next(attempts, None)
        if error is not None:
            raise error
        return value

    result = env.run(
        "order",
        input={"id": 7},
        stubs={"charge": charge},
        events=[("approve", "yes", timedelta(days=2))],
    )
    assert result.is_completed, result.error
    instance = env.backend.get_instance(result.instance_id)
    assert instance is not None
    status = status_payload(  # the local host's own status formatter
        instance, show_input=True, history=result.history, show_output=True
    )
    return env.export_history(result.instance_id), status


@pytest.fixture(scope="module")
def recording() -> tuple[dict[str, object], dict[str, object]]:
    return record()


@pytest.fixture
def history(recording: tuple[dict[str, object], dict[str, object]]) -> dict[str, object]:
    return recording[0]


@pytest.fixture
def show_history(recording: tuple[dict[str, object], dict[str, object]]) -> dict[str, object]:
    return recording[1]


def test_an_unchanged_orchestrator_replays_its_history_without_mismatch(
    history: dict[str, object],
) -> None:
    report = replay_history(OrchestrationTestEnv(same).app, parse_history(history))

    assert (report.ok, report.mismatch, report.error) == (True, None, None)


def test_a_renamed_activity_is_reported_at_its_scheduling_event(
    history: dict[str, object],
) -> None:
    parsed = parse_history(history)

    report = replay_history(OrchestrationTestEnv(renamed_step).app, parsed)

    assert report.mismatch is not None
    event = parsed.events[report.mismatch.event_index]
    assert (event["EventType"], event["Name"], event["EventId"]) == (4, "reserve", 0)
    assert report.mismatch.recorded == "activity 'reserve' (TASK_SCHEDULED)"
    assert report.mismatch.actual == "activity 'reserve_stock'"


def test_code_that_now_stops_early_is_reported_at_the_first_missing_decision(
    history: dict[str, object],
) -> None:
    parsed = parse_history(history)

    report = replay_history(OrchestrationTestEnv(dropped_step).app, parsed)

    assert report.mismatch is not None
    assert parsed.events[report.mismatch.event_index]["EventType"] == 10  # the timer
    assert (report.mismatch.recorded, report.mismatch.actual) == (
        "a timer (TIMER_CREATED)",
        "not schedule it (the code no longer schedules this task at this point)",
    )


def test_code_that_now_does_more_after_completion_is_reported_at_the_end(
    history: dict[str, object],
) -> None:
    parsed = parse_history(history)

    report = replay_history(OrchestrationTestEnv(added_step).app, parsed)

    assert report.mismatch is not None
    assert parsed.events[report.mismatch.event_index]["EventType"] == 1  # ExecutionCompleted
    assert report.mismatch.recorded == "the end of the orchestration (Completed)"
    assert report.mismatch.actual == "activity 'notify'"


def test_an_activity_in_place_of_a_timer_is_a_mismatch(history: dict[str, object]) -> None:
    report = replay_history(OrchestrationTestEnv(timer_instead).app, parse_history(history))

    assert report.mismatch is not None
    assert (report.mismatch.recorded, report.mismatch.actual) == (
        "a timer (TIMER_CREATED)",
        "activity 'wait_a_day'",
    )


def test_a_show_history_status_is_reconstructed_and_replays_cleanly(
    show_history: dict[str, object],
) -> None:
    parsed = parse_history(show_history)

    report = replay_history(OrchestrationTestEnv(same).app, parsed)

    assert parsed.reconstructed
    assert report.ok, str(report)


def test_a_show_history_status_still_catches_a_renamed_activity(
    show_history: dict[str, object],
) -> None:
    report = replay_history(OrchestrationTestEnv(renamed_step).app, parse_history(show_history))

    assert report.mismatch is not None
    assert report.mismatch.actual == "activity 'reserve_stock'"


def test_replay_files_reads_a_folder_of_histories(
    history: dict[str, object], tmp_path: Path
) -> None:
    (tmp_path / "a.json").write_text(json.dumps(history))
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "b.json").write_text(json.dumps(history["history"]))

    reports = replay_files(same, [tmp_path])

    assert [r.ok for r in reports] == [True, True]


APP_V1 = """
import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def checkout(context):
    cart = yield context.call_activity("price", context.get_input())
    yield context.call_activity("{second}", cart)
    return cart


@app.activity_trigger(input_name="value")
def price(value):
    return value


@app.activity_trigger(input_name="value")
def {second}(value):
    return value
"""


def write_app(folder: Path, second: str) -> Path:
    folder.mkdir()
    path = folder / "function_app.py"
    path.write_text(APP_V1.replace("{second}", second))
    return path


def test_cli_replays_cleanly_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_file = write_app(tmp_path / "v1", "pay")
    env = OrchestrationTestEnv(app_file)
    result = env.run("checkout", input=[1, 2])
    (tmp_path / "h.json").write_text(json.dumps(env.export_history(result.instance_id)))

    code = durable(["replay", str(tmp_path / "h.json"), "--app", str(app_file)])

    assert code == 0
    assert capsys.readouterr().out.startswith(f"OK {tmp_path / 'h.json'} {result.instance_id}")


def test_cli_exits_1_and_names_the_event_when_the_code_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = OrchestrationTestEnv(write_app(tmp_path / "v1", "pay"))
    result = env.run("checkout", input=[1, 2])
    (tmp_path / "h.json").write_text(json.dumps(env.export_history(result.instance_id)))
    changed = write_app(tmp_path / "v2", "refund")

    code = durable(["replay", str(tmp_path / "h.json"), "--app", str(changed)])

    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("MISMATCH")
    assert (
        "history recorded activity 'pay' (TASK_SCHEDULED), but the code now does activity 'refund'"
        in out
    )
    assert "event " in out and "(id 1)" in out


def test_cli_exits_2_on_a_file_that_is_not_a_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}')

    code = durable(
        ["replay", str(tmp_path / "x.json"), "--app", str(write_app(tmp_path / "a", "pay"))]
    )

    assert code == 2
    assert "not a history" in capsys.readouterr().err


looping = df.DFApp()
stops_looping = df.DFApp()


def loop_flow(context: df.DurableOrchestrationContext):
    count = context.get_input()
    yield context.call_activity("tick", count)
    if count < 2:
        context.continue_as_new(count + 1)
        return None
    return count


def no_loop_flow(context: df.DurableOrchestrationContext):
    count = context.get_input()
    yield context.call_activity("tick", count)
    return count


for loop_app, loop in ((looping, loop_flow), (stops_looping, no_loop_flow)):
    loop_app.orchestration_trigger(context_name="context", orchestration="loop")(loop)
    loop_app.function_name("tick")(loop_app.activity_trigger(input_name="value")(activity))


def first_generation() -> list[dict[str, object]]:
    env = OrchestrationTestEnv(looping)
    result = env.run("loop", input=0)
    generations = env.generations(result.instance_id)
    assert len(generations) == 3
    return generations[0]


def test_a_generation_closed_by_continue_as_new_replays_cleanly() -> None:
    report = replay_history(OrchestrationTestEnv(looping).app, parse_history(first_generation()))

    assert report.ok, str(report)


def test_code_that_no_longer_continues_as_new_is_a_mismatch() -> None:
    history = parse_history(first_generation())

    report = replay_history(OrchestrationTestEnv(stops_looping).app, history)

    assert report.mismatch is not None
    assert history.events[report.mismatch.event_index]["EventType"] == 16
    assert (report.mismatch.recorded, report.mismatch.actual) == (
        "the end of the orchestration (ContinuedAsNew)",
        "complete",
    )
