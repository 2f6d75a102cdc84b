"""What the management API puts on the wire: binding, check-status and status payloads.

Shared by the local host and the in-memory test client, so both answer with the
same bytes (protocol §8.1, §11).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from durable_functions._protocol import EventType, RuntimeStatus
from durable_functions.host.engine import InstanceState


def _common_query(hub: str, code: str | None) -> str:
    """The query every management link carries (with ``code=`` when keys are required)."""
    common = f"taskHub={quote(hub)}&connection=Storage"
    return f"{common}&code={quote(code, safe='')}" if code else common


def client_binding_payload(base_url: str, hub: str, *, code: str | None = None) -> str:
    """The ``durableClient`` binding payload (protocol §8.1) for a host at ``base_url``.

    ``code`` is the task hub's system key when the host requires keys: the public
    management links carry it, as the Functions host's do.
    """
    base = f"{base_url}/runtime/webhooks/durabletask"
    common = _common_query(hub, code)
    instance = f"{base}/instances/INSTANCEID"
    create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    key = f"code={quote(code, safe='')}" if code else ""
    payload = {
        "taskHubName": hub,
        "creationUrls": {
            "createNewInstancePostUri": f"{create}?{key}" if key else create,
            "createAndWaitOnNewInstancePostUri": (
                f"{create}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                + (f"&{key}" if key else "")
            ),
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{common}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{common}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{common}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{common}",
            "purgeHistoryDeleteUri": f"{instance}?{common}",
            "restartPostUri": f"{instance}/restart?{common}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{common}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{common}",
        },
        "baseUrl": base,
        "requiredQueryStringParameters": key,
        "rpcBaseUrl": f"{base_url}/durabletask/",
        "httpBaseUrl": base,
        "connectionName": None,
    }
    return json.dumps(payload)


def check_status_payload(
    base_url: str, hub: str, instance_id: str, *, code: str | None = None
) -> dict[str, str]:
    """The check-status body (the management URLs of one instance) the start APIs answer with."""
    quoted = quote(instance_id, safe="")
    base = f"{base_url}/runtime/webhooks/durabletask/instances/{quoted}"
    common = _common_query(hub, code)
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{base}?{common}",
        "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{common}",
        "terminatePostUri": f"{base}/terminate?reason={{text}}&{common}",
        "purgeHistoryDeleteUri": f"{base}?{common}",
        "restartPostUri": f"{base}/restart?{common}",
        "suspendPostUri": f"{base}/suspend?reason={{text}}&{common}",
        "resumePostUri": f"{base}/resume?reason={{text}}&{common}",
    }


def status_time(value: datetime) -> str:
    """A time as the status payloads write it: UTC, whole seconds, ``Z``."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_json_text(text: str | None) -> Any:
    """A stored JSON text as a value; text that is not JSON comes back as is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _event_name(value: Any) -> Any:
    try:
        return EventType(int(value)).name
    except (ValueError, TypeError):
        return value


_STATUS_BY_DTFX = {s.dtfx_value: s.value for s in RuntimeStatus}


def simplified_history(
    events: list[dict[str, Any]], *, show_input: bool, show_output: bool
) -> list[dict[str, Any]]:
    """The ``historyEvents`` of a status query (protocol §11), newest last."""
    scheduled: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.get("EventType") in (
            EventType.TaskScheduled,
            EventType.SubOrchestrationInstanceCreated,
        ):
            scheduled[int(event.get("EventId", -1))] = event
    result: list[dict[str, Any]] = []
    for source in events:
        kind = source.get("EventType")
        if kind in (
            EventType.OrchestratorStarted,
            EventType.OrchestratorCompleted,
            EventType.TaskScheduled,
            EventType.SubOrchestrationInstanceCreated,
        ):
            continue
        event = {k: v for k, v in source.items() if k not in ("EventId", "IsPlayed")}
        event["EventType"] = _event_name(kind)
        if kind == EventType.ExecutionStarted:
            event["FunctionName"] = event.pop("Name", None)
            for key in ("OrchestrationInstance", "ParentInstance", "Version", "Tags"):
                event.pop(key, None)
        elif kind in (
            EventType.TaskCompleted,
            EventType.TaskFailed,
            EventType.SubOrchestrationInstanceCompleted,
            EventType.SubOrchestrationInstanceFailed,
        ):
            origin = scheduled.get(int(event.pop("TaskScheduledId", -1)))
            if origin is not None:
                event["FunctionName"] = origin.get("Name")
                event["ScheduledTime"] = origin.get("Timestamp")
                if show_input:
                    event["Input"] = origin.get("Input")
        elif kind == EventType.TimerFired:
            event.pop("TimerId", None)
        elif kind == EventType.ExecutionCompleted:
            raw_status = event.get("OrchestrationStatus")
            if isinstance(raw_status, int):
                event["OrchestrationStatus"] = _STATUS_BY_DTFX.get(raw_status, raw_status)
        if not show_input:
            event.pop("Input", None)
        if "Result" in event:
            if show_output:
                event["Result"] = parse_json_text(event["Result"])
            else:
                event.pop("Result")
        result.append(event)
    return result


def status_payload(
    inst: InstanceState,
    *,
    show_input: bool = True,
    history: list[dict[str, Any]] | None = None,
    show_output: bool = False,
) -> dict[str, Any]:
    """The extension's ``StatusResponsePayload`` for one instance."""
    output: Any = parse_json_text(inst.output)
    payload: dict[str, Any] = {
        "name": inst.name,
        "instanceId": inst.instance_id,
        "runtimeStatus": inst.runtime_status.value,
        "input": parse_json_text(inst.input) if show_input else None,
        "customStatus": parse_json_text(inst.custom_status),
        "output": output,
        "createdTime": status_time(inst.created_time),
        "lastUpdatedTime": status_time(inst.last_updated_time),
    }
    if history is not None:
        payload["historyEvents"] = simplified_history(
            history, show_input=show_input, show_output=show_output
        )
    return payload
