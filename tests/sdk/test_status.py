"""Status value types: parsing the host's status bodies and writing them back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from durable_functions.status import (
    DurableOrchestrationStatus,
    EntityStateResponse,
    OrchestrationRuntimeStatus,
    PurgeHistoryResult,
    parse_datetime,
)

HOST_BODY: dict[str, Any] = {
    "name": "hello_orchestrator",
    "instanceId": "abc",
    "runtimeStatus": "Completed",
    "input": '"Tokyo"',
    "customStatus": {"step": 3},
    "output": ["Hello Tokyo!"],
    "createdTime": "2024-05-01T10:20:30Z",
    "lastUpdatedTime": "2024-05-01T10:20:31Z",
}


def test_from_json_reads_every_field_of_a_host_status_body() -> None:
    status = DurableOrchestrationStatus.from_json(HOST_BODY)

    assert status.name == "hello_orchestrator"
    assert status.instance_id == "abc"
    assert status.runtime_status is OrchestrationRuntimeStatus.Completed
    assert status.input_ == '"Tokyo"'
    assert status.custom_status == {"step": 3}
    assert status.output == ["Hello Tokyo!"]
    assert status.created_time == datetime(2024, 5, 1, 10, 20, 30, tzinfo=timezone.utc)
    assert status.last_updated_time == datetime(2024, 5, 1, 10, 20, 31, tzinfo=timezone.utc)


def test_unknown_keys_become_attributes_so_history_events_are_reachable() -> None:
    events = [{"EventType": "ExecutionStarted"}]
    status = DurableOrchestrationStatus.from_json({**HOST_BODY, "historyEvents": events})

    assert status.historyEvents == events  # type: ignore[attr-defined]
    assert status.history is None


def test_a_string_body_becomes_a_falsy_status_with_a_message() -> None:
    status = DurableOrchestrationStatus.from_json("")

    assert not status
    assert status.message == ""  # type: ignore[attr-defined]


def test_a_status_with_a_created_time_is_truthy() -> None:
    assert DurableOrchestrationStatus.from_json(HOST_BODY)


def test_from_json_rejects_a_list_with_a_clear_error() -> None:
    with pytest.raises(TypeError, match="JSON object"):
        DurableOrchestrationStatus.from_json([1, 2])


def test_an_unknown_runtime_status_is_rejected() -> None:
    with pytest.raises(ValueError, match="Sleeping"):
        DurableOrchestrationStatus.from_json({**HOST_BODY, "runtimeStatus": "Sleeping"})


def test_to_json_writes_camel_case_keys_and_the_sdk_datetime_format() -> None:
    status = DurableOrchestrationStatus.from_json(HOST_BODY)

    assert status.to_json() == {
        "name": "hello_orchestrator",
        "instanceId": "abc",
        "createdTime": "2024-05-01T10:20:30.000000Z",
        "lastUpdatedTime": "2024-05-01T10:20:31.000000Z",
        "output": ["Hello Tokyo!"],
        "input": '"Tokyo"',
        "runtimeStatus": "Completed",
        "customStatus": {"step": 3},
        "history": None,
    }


def test_to_json_of_an_empty_status_has_null_times_instead_of_failing() -> None:
    assert DurableOrchestrationStatus().to_json()["createdTime"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "2024-05-01T10:20:30Z",
            datetime(2024, 5, 1, 10, 20, 30, tzinfo=timezone.utc),
            id="seconds-z",
        ),
        pytest.param(
            "2024-05-01T10:20:30.1234567Z",
            datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=timezone.utc),
            id="seven-digits",
        ),
        pytest.param(
            "2024-05-01T10:20:30.5+02:00",
            datetime(2024, 5, 1, 10, 20, 30, 500000, tzinfo=timezone(timedelta(hours=2))),
            id="offset",
        ),
        pytest.param("2024-05-01T10:20:30", datetime(2024, 5, 1, 10, 20, 30), id="naive"),
    ],
)
def test_parse_datetime_reads_dotnet_timestamps(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


def test_parse_datetime_rejects_text_that_is_no_timestamp() -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_datetime("yesterday")


def test_runtime_status_values_are_the_host_names() -> None:
    assert [s.value for s in OrchestrationRuntimeStatus] == [
        "Running",
        "Completed",
        "ContinuedAsNew",
        "Failed",
        "Canceled",
        "Terminated",
        "Pending",
        "Suspended",
    ]


def test_purge_history_result_reads_instances_deleted() -> None:
    assert PurgeHistoryResult.from_json({"instancesDeleted": 3}).instances_deleted == 3


def test_entity_state_response_defaults_to_no_state() -> None:
    response = EntityStateResponse(False)

    assert (response.entity_exists, response.entity_state) == (False, None)


@pytest.mark.reference
def test_status_reads_like_the_reference_status() -> None:
    from azure.durable_functions.models.DurableOrchestrationStatus import (
        DurableOrchestrationStatus as Reference,
    )

    ours = DurableOrchestrationStatus.from_json(HOST_BODY)
    theirs = Reference.from_json(HOST_BODY)

    assert ours.to_json() == theirs.to_json()
    assert ours.created_time == theirs.created_time
    assert ours.runtime_status.value == theirs.runtime_status.value  # type: ignore[union-attr]
