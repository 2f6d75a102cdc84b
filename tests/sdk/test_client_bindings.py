"""The client's pure parts: binding parsing, URL building and check-status payloads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import azure.functions as func
import pytest

from durable_functions.client import (
    DurableOrchestrationBindings,
    DurableOrchestrationClient,
    RpcManagementOptions,
)
from durable_functions.entity import EntityId
from durable_functions.errors import HostError
from durable_functions.status import OrchestrationRuntimeStatus

PUBLIC = "https://myapp.azurewebsites.net/runtime/webhooks/durabletask"
QUERY = "taskHub=MyHub&connection=Storage&code=KEY"
RPC = "http://127.0.0.1:17071/durabletask/"

BINDING: dict[str, Any] = {
    "taskHubName": "MyHub",
    "creationUrls": {
        "createNewInstancePostUri": (
            f"{PUBLIC}/orchestrators/{{functionName}}[/{{instanceId}}]?code=KEY"
        ),
    },
    "managementUrls": {
        "id": "INSTANCEID",
        "statusQueryGetUri": f"{PUBLIC}/instances/INSTANCEID?{QUERY}",
        "sendEventPostUri": f"{PUBLIC}/instances/INSTANCEID/raiseEvent/{{eventName}}?{QUERY}",
        "terminatePostUri": f"{PUBLIC}/instances/INSTANCEID/terminate?reason={{text}}&{QUERY}",
        "rewindPostUri": f"{PUBLIC}/instances/INSTANCEID/rewind?reason={{text}}&{QUERY}",
        "purgeHistoryDeleteUri": f"{PUBLIC}/instances/INSTANCEID?{QUERY}",
        "restartPostUri": f"{PUBLIC}/instances/INSTANCEID/restart?{QUERY}",
        "suspendPostUri": f"{PUBLIC}/instances/INSTANCEID/suspend?reason={{text}}&{QUERY}",
        "resumePostUri": f"{PUBLIC}/instances/INSTANCEID/resume?reason={{text}}&{QUERY}",
    },
    "baseUrl": PUBLIC,
    "requiredQueryStringParameters": "code=KEY",
    "rpcBaseUrl": RPC,
    "connectionName": None,
    "httpBaseUrl": None,
}


@pytest.fixture
def client() -> DurableOrchestrationClient:
    return DurableOrchestrationClient(json.dumps(BINDING))


def request(url: str = "http://localhost:7071/api/start") -> func.HttpRequest:
    return func.HttpRequest(method="POST", url=url, body=b"")


# -- binding ---------------------------------------------------------------


def test_binding_exposes_its_fields() -> None:
    binding = DurableOrchestrationBindings.from_json(json.dumps(BINDING))

    assert binding.task_hub_name == "MyHub"
    assert binding.rpc_base_url == RPC
    assert binding.management_urls["id"] == "INSTANCEID"
    assert binding.creation_urls == BINDING["creationUrls"]


def test_binding_keeps_unknown_keys_as_client_data() -> None:
    binding = DurableOrchestrationBindings.from_json(json.dumps({**BINDING, "grpcX": 5}))

    assert binding.client_data.grpcX == 5
    assert binding.client_data.baseUrl == PUBLIC


def test_binding_with_null_rpc_base_url_parses() -> None:
    binding = DurableOrchestrationBindings.from_json(json.dumps({**BINDING, "rpcBaseUrl": None}))

    assert binding.rpc_base_url is None


def test_binding_that_is_not_json_raises_a_host_error() -> None:
    with pytest.raises(HostError, match="not valid JSON"):
        DurableOrchestrationBindings.from_json("{oops")


def test_binding_without_task_hub_raises_a_host_error() -> None:
    with pytest.raises(HostError, match="taskHubName"):
        DurableOrchestrationBindings.from_json("[1]")


def test_client_task_hub_name_attribute_works(client: DurableOrchestrationClient) -> None:
    assert client.task_hub_name == "MyHub"


# -- URLs ------------------------------------------------------------------


def test_status_url_adds_only_true_flags_in_reference_order() -> None:
    options = RpcManagementOptions(
        instance_id="abc", show_history=True, show_history_output=False, show_input=True
    )

    assert options.to_url(RPC) == f"{RPC}instances/abc?showInput=True&showHistory=True"


def test_list_url_formats_dates_and_joins_statuses() -> None:
    options = RpcManagementOptions(
        created_time_from=datetime(2024, 1, 2, 3, 4, 5),
        created_time_to=datetime(2024, 1, 3),
        runtime_status=[OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending],
        instance_id_prefix="order-",
    )

    assert options.to_url(RPC) == (
        f"{RPC}instances/?createdTimeFrom=2024-01-02T03:04:05.000000Z"
        "&createdTimeTo=2024-01-03T00:00:00.000000Z&instanceIdPrefix=order-"
        "&runtimeStatus=Running,Pending"
    )


def test_an_aware_datetime_is_sent_in_utc() -> None:
    tz = timezone(timedelta(hours=2))
    options = RpcManagementOptions(created_time_from=datetime(2024, 1, 2, 12, 0, tzinfo=tz))

    assert options.to_url(RPC).endswith("createdTimeFrom=2024-01-02T10:00:00.000000Z")


def test_entity_url_carries_the_operation_and_task_hub() -> None:
    options = RpcManagementOptions(
        entity_Id=EntityId("Counter", "c1"), operation_name="add", task_hub_name="Hub"
    )

    assert options.to_url(RPC) == f"{RPC}entities/Counter/c1?taskHub=Hub&op=add"


def test_url_without_rpc_base_url_raises_value_error() -> None:
    with pytest.raises(ValueError, match="RPC base url"):
        RpcManagementOptions(instance_id="x").to_url(None)


# -- check-status payloads --------------------------------------------------


def test_management_payload_fills_in_the_instance_id(client: DurableOrchestrationClient) -> None:
    payload = client.create_http_management_payload("abc")

    assert payload["id"] == "abc"
    assert payload["statusQueryGetUri"] == f"{PUBLIC}/instances/abc?{QUERY}"
    assert payload["sendEventPostUri"] == f"{PUBLIC}/instances/abc/raiseEvent/{{eventName}}?{QUERY}"


def test_response_links_take_the_request_origin(client: DurableOrchestrationClient) -> None:
    links = client.get_client_response_links(request("http://localhost:7071/api/x"), "abc")

    assert links["statusQueryGetUri"] == (
        f"http://localhost:7071/runtime/webhooks/durabletask/instances/abc?{QUERY}"
    )


def test_check_status_response_is_a_202_with_location_and_links(
    client: DurableOrchestrationClient,
) -> None:
    response = client.create_check_status_response(request(), "abc")
    body = json.loads(response.get_body())

    assert response.status_code == 202
    assert response.headers["Location"] == body["statusQueryGetUri"]
    assert response.headers["Retry-After"] == "10"
    assert set(body) == set(BINDING["managementUrls"])


@pytest.mark.reference
def test_check_status_response_equals_the_reference(client: DurableOrchestrationClient) -> None:
    from azure.durable_functions import DurableOrchestrationClient as Reference

    theirs = Reference(json.dumps(BINDING)).create_check_status_response(request(), "i 1")
    ours = client.create_check_status_response(request(), "i 1")

    assert ours.get_body() == theirs.get_body()
    assert dict(ours.headers) == dict(theirs.headers)


@pytest.mark.reference
def test_list_url_equals_the_reference() -> None:
    from azure.durable_functions.models.RpcManagementOptions import (
        RpcManagementOptions as Reference,
    )

    kwargs: dict[str, Any] = {
        "created_time_from": datetime(2024, 1, 2),
        "show_input": True,
        "task_hub_name": "Hub",
        "connection_name": "Storage",
        "instance_id_prefix": "p",
    }

    assert RpcManagementOptions(**kwargs).to_url(RPC) == Reference(**kwargs).to_url(RPC)
