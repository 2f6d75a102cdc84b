"""What the Durable Task extension does with an orchestrator's answer, as pure functions.

The engine never touches a clock, a file, a thread or a random generator: the
caller passes ``now`` and, where a fresh id is needed, a ``new_id`` callable.
Everything is JSON-shaped data in the wire format of protocol.md: history events
are ``dict`` objects with the PascalCase fields DurableTask.Core serializes,
payloads are the ``dict`` the Functions host would send.

One orchestration episode::

    item = backend.claim_orchestration()                  # instance + history + new messages
    episode = prepare_episode(item, now=now, config=cfg)   # payload for the orchestrator
    text = invoker.invoke_orchestrator(name, json.dumps(episode.payload))
    outcome = complete_episode(episode, text, now=now, new_id=new_id)
    backend.complete_orchestration(item, outcome)          # one transaction

Entities, activities, timers and the management operations (terminate, suspend,
resume, rewind, restart, raise event) each have a small pure function here too.

This module is the engine's public face; the code lives in one private module per
concept: ``_types`` (the dataclasses), ``_ids``, ``_events`` (history event
builders), ``_messages`` (management messages, activity results), ``_episode``
(prepare and complete an episode), ``_check`` (the host-side replay),
``_entities`` and ``_rewind`` (rewind and restart).
"""

from __future__ import annotations

from durable_functions._protocol import (
    HTTP_ACTIVITY_NAME,
    OUT_OF_PROC_MARKER,
    ActionType,
    EventType,
    RuntimeStatus,
    format_timestamp,
)
from durable_functions._protocol import parse_utc_timestamp as parse_timestamp
from durable_functions.host._entities import (
    build_entity_payload,
    complete_entity_batch,
    entity_signal_message,
)
from durable_functions.host._episode import (
    build_orchestrator_payload,
    complete_episode,
    parse_orchestrator_error,
    prepare_episode,
)
from durable_functions.host._events import (
    event_raised_event,
    execution_started_event,
    failure_details,
    history_event,
    orchestrator_completed_event,
    orchestrator_started_event,
    task_completed_event,
    task_failed_event,
    timer_fired_event,
)
from durable_functions.host._ids import (
    compact_json,
    derived_id,
    entity_scheduler_id,
    parse_entity_id,
    sub_orchestration_instance_id,
)
from durable_functions.host._messages import (
    activity_completed,
    activity_failed,
    is_runnable,
    new_instance,
    raise_event_message,
    resume_message,
    sub_orchestration_conflict,
    suspend_message,
    terminate_message,
)
from durable_functions.host._rewind import (
    restart,
    rewind,
)
from durable_functions.host._session import EngineSession
from durable_functions.host._types import (
    ActivityWorkItem,
    EngineConfig,
    EntityMessage,
    EntityOutcome,
    EntityState,
    EntityWorkItem,
    Episode,
    EpisodeOutcome,
    Event,
    HistoryLog,
    InstanceState,
    InvocationError,
    NewInstance,
    OrchestrationMessage,
    OrchestrationWorkItem,
    ParentInstance,
    RewindResult,
    TimerItem,
)

__all__ = [
    "ActionType",
    "ActivityWorkItem",
    "EngineConfig",
    "EngineSession",
    "HistoryLog",
    "EntityMessage",
    "EntityOutcome",
    "EntityState",
    "EntityWorkItem",
    "Episode",
    "EpisodeOutcome",
    "Event",
    "EventType",
    "HTTP_ACTIVITY_NAME",
    "InstanceState",
    "InvocationError",
    "NewInstance",
    "OUT_OF_PROC_MARKER",
    "OrchestrationMessage",
    "OrchestrationWorkItem",
    "ParentInstance",
    "RewindResult",
    "RuntimeStatus",
    "TimerItem",
    "activity_completed",
    "activity_failed",
    "build_entity_payload",
    "build_orchestrator_payload",
    "compact_json",
    "complete_entity_batch",
    "complete_episode",
    "derived_id",
    "entity_scheduler_id",
    "entity_signal_message",
    "event_raised_event",
    "execution_started_event",
    "failure_details",
    "format_timestamp",
    "history_event",
    "is_runnable",
    "new_instance",
    "orchestrator_completed_event",
    "orchestrator_started_event",
    "parse_entity_id",
    "parse_orchestrator_error",
    "parse_timestamp",
    "prepare_episode",
    "raise_event_message",
    "restart",
    "resume_message",
    "rewind",
    "sub_orchestration_conflict",
    "sub_orchestration_instance_id",
    "suspend_message",
    "task_completed_event",
    "task_failed_event",
    "terminate_message",
    "timer_fired_event",
]
