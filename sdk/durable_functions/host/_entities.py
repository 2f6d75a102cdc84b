"""Entities: signals from clients, the entity trigger payload and a batch's result (§7)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from durable_functions._protocol import format_timestamp
from durable_functions.host._events import event_raised_event
from durable_functions.host._ids import parse_entity_id
from durable_functions.host._types import (
    EntityMessage,
    EntityOutcome,
    EntityWorkItem,
    InvocationError,
    OrchestrationMessage,
)


def entity_signal_message(
    entity_id: str,
    operation: str,
    input_json: str | None,
    *,
    now: datetime,
    request_id: str,
) -> EntityMessage:
    """A signal from a client (no response). ``input_json`` is the request's ``input``
    field: JSON text of the value the host holds (for the SDK's client, itself JSON text)."""
    parse_entity_id(entity_id)
    request = {
        "op": operation,
        "signal": True,
        "input": input_json,
        "id": request_id,
        "parent": None,
        "parentExecution": None,
        "Timestamp": format_timestamp(now),
    }
    return EntityMessage(entity_id=entity_id, request=request)


def build_entity_payload(item: EntityWorkItem) -> dict[str, Any]:
    """The entity trigger payload (§7.1): identity, state and the batch of operations."""
    name, key = parse_entity_id(item.entity.entity_id)
    return {
        "self": {"name": name, "key": key},
        "exists": item.entity.exists,
        "state": item.entity.state,
        "batch": [
            {
                "name": m.request.get("op"),
                "input": m.request.get("input"),
                "isSignal": bool(m.request.get("signal")),
            }
            for m in item.messages
        ],
    }


def complete_entity_batch(
    item: EntityWorkItem, result: str | InvocationError, *, now: datetime
) -> EntityOutcome:
    """Apply an entity batch result (§7.2): new state, and a response per call.

    When the invocation failed or answered nonsense, the state is unchanged and every
    operation gets an error result (``Timeout value of …`` for a timeout, as the host).
    """
    entity = item.entity
    results: list[dict[str, Any]] | None = None
    new_entity = entity
    if not isinstance(result, InvocationError):
        try:
            parsed = json.loads(result)
        except ValueError:
            parsed = None
        if isinstance(parsed, str):
            try:
                parsed = json.loads(parsed)
            except ValueError:
                parsed = None
        raw_results = parsed.get("results") if isinstance(parsed, dict) else None
        if (
            isinstance(parsed, dict)
            and isinstance(raw_results, list)
            and len(raw_results) == len(item.messages)
        ):
            results = [r if isinstance(r, dict) else {} for r in raw_results]
            exists = bool(parsed.get("entityExists"))
            state = parsed.get("entityState")
            new_entity = replace(
                entity,
                exists=exists,
                state=state if exists and isinstance(state, str) else None,
                last_modified=now,
            )
        else:
            error = InvocationError(
                message="the entity function returned a result that does not match its batch",
                error_type="InvalidOperationException",
            )
    else:
        error = result
    if results is None:
        name = parse_entity_id(entity.entity_id)[0]
        if error.error_type == "TimeoutError":
            text = f"Timeout value of {error.message} was exceeded by function: Functions.{name}"
        else:
            text = f"{error.error_type}: {error.message}"
        results = [{"isError": True, "result": text} for _ in item.messages]
        new_entity = replace(entity, last_modified=now)
    messages: list[OrchestrationMessage] = []
    for request_message, outcome in zip(item.messages, results):
        request = request_message.request
        parent = request.get("parent")
        if request.get("signal") or not parent:
            continue
        response: dict[str, Any] = {"result": outcome.get("result")}
        if outcome.get("isError"):
            response["exceptionType"] = "Error"
        event = event_raised_event(
            str(request.get("id")), json.dumps(response, separators=(",", ":")), timestamp=now
        )
        messages.append(
            OrchestrationMessage(
                instance_id=str(parent), execution_id=request.get("parentExecution"), event=event
            )
        )
    return EntityOutcome(entity=new_entity, messages=tuple(messages), results=tuple(results))
