"""The orchestration context is built from the trigger payload the host sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from factories import (
    BASE_TIME,
    HistoryBuilder,
    execution_started,
    orchestration_payload,
    orchestrator_started,
    replay_history,
)

from durable_functions._protocol import parse_timespan
from durable_functions.context import DurableOrchestrationContext
from durable_functions.errors import PayloadError
from durable_functions.history import HistoryEvent, HistoryEventType


def context_of(**kw) -> DurableOrchestrationContext:
    history = kw.pop("history", HistoryBuilder().events)
    return DurableOrchestrationContext.from_dict(orchestration_payload(history, **kw))


def test_from_json_reads_instance_and_parent_ids():
    payload = orchestration_payload(
        HistoryBuilder().events, instance_id="abc", parent_instance_id="parent"
    )
    context = DurableOrchestrationContext.from_json(json.dumps(payload))
    assert (context.instance_id, context.parent_instance_id) == ("abc", "parent")


def test_unknown_payload_keys_land_on_function_context():
    context = context_of(someNewHostField=5)
    assert context.function_context.someNewHostField == 5
    assert context.function_context.defaultHttpAsyncRequestSleepTimeMillseconds == 30000


def test_missing_required_key_is_a_payload_error_naming_it():
    payload = orchestration_payload(HistoryBuilder().events)
    del payload["instanceId"]
    with pytest.raises(PayloadError, match="instanceId"):
        DurableOrchestrationContext.from_dict(payload)


def test_payload_text_that_is_not_json_is_a_payload_error():
    with pytest.raises(PayloadError, match="not JSON"):
        DurableOrchestrationContext.from_json("{nope")


def test_history_without_orchestrator_started_is_a_payload_error():
    with pytest.raises(PayloadError, match="OrchestratorStarted"):
        context_of(history=[execution_started()])


def test_version_comes_from_execution_started():
    context = context_of(history=HistoryBuilder(version="1.2").events)
    assert context.version == "1.2"


def test_get_input_decodes_the_json_text_input():
    assert context_of(input={"city": "Tokyo"}).get_input() == {"city": "Tokyo"}


def test_get_input_is_none_without_input():
    assert context_of().get_input() is None


def test_get_input_is_none_for_empty_input_text():
    payload = orchestration_payload(HistoryBuilder().events)
    payload["input"] = ""
    assert DurableOrchestrationContext.from_dict(payload).get_input() is None


def test_get_input_accepts_an_input_sent_as_a_json_object():
    payload = orchestration_payload(HistoryBuilder().events)
    payload["input"] = {"already": "parsed"}
    assert DurableOrchestrationContext.from_dict(payload).get_input() == {"already": "parsed"}


def test_get_input_accepts_a_bare_json_number():
    payload = orchestration_payload(HistoryBuilder().events)
    payload["input"] = 5
    assert DurableOrchestrationContext.from_dict(payload).get_input() == 5


def test_get_input_returns_plain_text_that_is_not_json_as_is():
    payload = orchestration_payload(HistoryBuilder().events)
    payload["input"] = "hello"
    assert DurableOrchestrationContext.from_dict(payload).get_input() == "hello"


@dataclass
class Order:
    item: str
    quantity: int


def test_get_input_decodes_into_the_expected_type():
    context = context_of(input={"item": "tea", "quantity": 2})
    assert context.get_input(expected_type=Order) == Order(item="tea", quantity=2)


def test_histories_are_history_event_objects_with_host_fields():
    context = context_of()
    events = context.histories
    assert [e.event_type for e in events] == [
        HistoryEventType.ORCHESTRATOR_STARTED,
        HistoryEventType.EXECUTION_STARTED,
    ]
    assert isinstance(events[1], HistoryEvent)
    assert events[1].Name == "orchestrator"
    assert events[0].timestamp == BASE_TIME


def test_history_event_fields_the_host_did_not_send_default_to_none():
    event = context_of().histories[0]
    assert (event.Name, event.Input, event.TaskScheduledId) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("00:00:00", timedelta(0), id="zero"),
        pytest.param("3.00:00:00", timedelta(days=3), id="days"),
        pytest.param("01:02:03.5000000", timedelta(hours=1, minutes=2, seconds=3.5), id="ticks"),
        pytest.param("-00:00:01", timedelta(seconds=-1), id="negative"),
    ],
)
def test_timespans_parse_from_dotnet_format(text, expected):
    assert parse_timespan(text) == expected


def test_invalid_timespan_is_a_payload_error():
    with pytest.raises(PayloadError, match="TimeSpan"):
        context_of(maximumShortTimerDuration="six days")


def test_timestamps_with_any_number_of_fraction_digits_parse():
    history = [
        {**orchestrator_started(), "Timestamp": "2024-05-01T10:00:00Z"},
        execution_started(),
    ]
    assert context_of(history=history).current_utc_datetime == BASE_TIME.replace(microsecond=0)


def test_history_event_that_is_not_an_object_is_a_payload_error():
    history = [*HistoryBuilder().events, "garbage"]
    with pytest.raises(PayloadError, match="garbage"):
        replay_history(lambda ctx: (yield ctx.call_activity("a")), history)


def test_history_event_without_event_type_is_a_payload_error():
    history = [*HistoryBuilder().events, {"EventId": 1}]
    with pytest.raises(PayloadError, match="EventType"):
        replay_history(lambda ctx: (yield ctx.call_activity("a")), history)
