"""One exception hierarchy for the SDK, the local host and the tools.

::

    Exception
     └── DurableError
          ├── TaskFailedError            an activity, sub-orchestration or entity operation failed
          ├── NonDeterminismError        the code no longer matches the recorded history
          ├── OrchestratorExecutionError the orchestrator function failed (host wire format)
          ├── OrchestratorUsageError     the orchestrator misused the API (yielded a non-task, …)
          │    └── NonDurableAwaitError  an async orchestrator awaited something else than a task
          ├── PayloadError               a malformed orchestration trigger payload
          ├── OrchestrationFailedError   the orchestrator raised (carries the error text)
          ├── ManagementError            a management request was refused (``status``: HTTP code)
          │    ├── OrchestrationNotFoundError no instance with that id              (404)
          │    ├── EntityNotFoundError        no entity with that id                (404)
          │    ├── InstanceExistsError        the id is taken by a live instance    (400)
          │    └── InstanceStateError         not in this status (finished, …)      (410)
          ├── FunctionNotFoundError      no orchestrator/activity/entity of that name
          ├── SerializationError         a value cannot cross the wire as JSON
          ├── HostError                  the local host cannot start or serve
          │    ├── StoreBusyError             the store stayed locked by another writer (503)
          │    ├── HostTimeoutError           the host did not answer a client call in time
          │    └── HostResponseError          the host answered an error (``status``, ``body``)
          └── TemplateError              invalid template answers

    UserWarning
     └── DurableFunctionsCompatibilityWarning

Task failures keep the reference SDK's message text (``"<reason> \\n <details>"``)
so existing ``except Exception as e: str(e)`` handlers keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class DurableFunctionsCompatibilityWarning(UserWarning):
    """The app uses a layout this SDK cannot run as is (legacy ``function.json`` apps)."""


class DurableError(Exception):
    """Root of every error raised on purpose by this package."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureDetails:
    """Why a task failed, as the host records it."""

    reason: str | None
    """The host's one-line reason, e.g. ``Activity function 'x' failed: boom``."""
    details: str | None = None
    """The host's details (often a serialized exception)."""
    error_type: str | None = None
    """The original exception type name, when known."""

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> FailureDetails:
        """Build from a TaskFailed / SubOrchestrationInstanceFailed history event."""
        nested = event.get("FailureDetails") or {}
        error_type = nested.get("ErrorType") if isinstance(nested, dict) else None
        return cls(reason=event.get("Reason"), details=event.get("Details"), error_type=error_type)


class TaskFailedError(DurableError):
    """An activity or sub-orchestration failed; its message equals the reference SDK's."""

    def __init__(self, message: str, *, failure: FailureDetails | None = None) -> None:
        super().__init__(message)
        self.failure = failure or FailureDetails(reason=message)

    @property
    def reason(self) -> str | None:
        """The host's reason text."""
        return self.failure.reason

    @property
    def details(self) -> str | None:
        """The host's details text."""
        return self.failure.details

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> TaskFailedError:
        """Build the error a failed completion event surfaces to user code."""
        failure = FailureDetails.from_event(event)
        return cls(f"{failure.reason} \n {failure.details}", failure=failure)


class NonDeterminismError(DurableError):
    """The orchestrator's decisions differ from what its history recorded.

    Raised during replay when, for example, the code schedules activity ``b``
    where history recorded ``a``. Fix the code, or start a new instance (or a
    new orchestration version) for the changed logic.
    """

    def __init__(self, *, event_id: int | None, recorded: str, actual: str) -> None:
        self.event_id = event_id
        self.recorded = recorded
        self.actual = actual
        super().__init__(
            f"Non-deterministic orchestrator: at event id {event_id} history recorded "
            f"{recorded}, but the code now does {actual}. Orchestrator code must make the "
            "same decisions on every replay; deploy changed logic under a new orchestration "
            "name or version."
        )


class OrchestratorExecutionError(DurableError):
    """The orchestrator function failed in this episode.

    The message is the host's wire format, ``<error>\n\n$OutOfProcData$:<state JSON>``:
    the host parses the orchestrator state after the label, applies its actions and
    fails the instance with ``error``. The parts are kept as attributes too.
    """

    def __init__(self, message: str, *, error: str, state_json: str) -> None:
        super().__init__(message)
        self.error = error
        self.state_json = state_json


class OrchestratorUsageError(DurableError, TypeError):
    """The orchestrator function used the API in a way that cannot work.

    For example it yielded something that is not a task from the context.
    """


class NonDurableAwaitError(OrchestratorUsageError):
    """An ``async def`` orchestrator awaited something that is not a durable task.

    Replay drives the coroutine itself, outside any event loop, so only tasks from the
    context can be awaited; ``asyncio.sleep``, ``asyncio.gather`` or an HTTP client would
    hang or give a different answer on every replay. ``awaited`` names what was awaited,
    ``instead`` what to use.
    """

    def __init__(self, *, awaited: str, instead: str) -> None:
        super().__init__(
            f"The orchestrator awaited {awaited}, which is not a durable task: an async "
            f"orchestrator is replayed outside any event loop and can await only tasks "
            f"from the context. Use {instead} instead."
        )
        self.awaited = awaited
        self.instead = instead


class PayloadError(DurableError, ValueError):
    """The orchestration trigger payload is malformed (missing keys, empty history, bad time)."""


class OrchestrationFailedError(DurableError):
    """An orchestration ended Failed; ``output`` holds the host's error text."""


class ManagementError(DurableError):
    """A management operation was refused.

    ``status`` is the HTTP status the management API answers with, so the host, the
    in-memory test client and direct callers share one rule per refusal; the message
    is the body's ``Message`` text.
    """

    status: int = 400

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class OrchestrationNotFoundError(ManagementError):
    """No orchestration instance has the given id."""

    status = 404


class EntityNotFoundError(ManagementError):
    """No entity with the given id exists."""

    status = 404


class InstanceExistsError(ManagementError):
    """An instance with that id exists and is not finished."""

    status = 400


class InstanceStateError(ManagementError):
    """The operation does not apply to the instance in its current status."""

    status = 410


class FunctionNotFoundError(DurableError):
    """No function with that name is registered in the app."""


class SerializationError(DurableError, TypeError):
    """A value cannot be encoded to, or decoded from, the wire format."""


class HostError(DurableError):
    """The local host cannot load the app, start or serve a request."""


class StoreBusyError(HostError):
    """Another writer held the task hub store's lock for longer than a request may wait.

    The HTTP edge answers it with 503 and ``Retry-After`` instead of holding the request.
    """


class HostTimeoutError(HostError, TimeoutError):
    """The host did not answer a client call within its timeout (see ``call_timeout``)."""


class HostResponseError(HostError):
    """The host answered a client call with an unexpected status.

    The message names the status and the start of the body (an HTML error page is
    cut short), so a log line says what went wrong without the whole page.
    """

    def __init__(self, message: str, *, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status code of the answer."""
        self.body = body
        """The start of the answer's body (at most ``BODY_SHOWN`` characters)."""


class TemplateError(DurableError, ValueError):
    """An invalid answer was given to the project template."""
