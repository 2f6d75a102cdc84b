"""Value types that travel inside orchestrator actions.

They keep the reference SDK's positional constructors and read-only properties,
and convert themselves to their wire dicts with ``to_json``.
"""

from __future__ import annotations

from typing import Any

from durable_functions._readonly import ReadOnly

__all__ = ["DurableHttpRequest", "ManagedIdentityTokenSource", "RetryOptions", "TokenSource"]


class RetryOptions:
    """How the host retries a failed activity or sub-orchestration.

    The host waits ``first_retry_interval_in_milliseconds`` between attempts and
    gives up after ``max_number_of_attempts`` attempts in total.
    """

    __slots__ = ("_first_retry_interval_in_milliseconds", "_max_number_of_attempts")

    def __init__(
        self, first_retry_interval_in_milliseconds: int, max_number_of_attempts: int
    ) -> None:
        if first_retry_interval_in_milliseconds <= 0:
            raise ValueError("first_retry_interval_in_milliseconds value must be greater than 0.")
        self._first_retry_interval_in_milliseconds = first_retry_interval_in_milliseconds
        self._max_number_of_attempts = max_number_of_attempts

    first_retry_interval_in_milliseconds = ReadOnly[int](
        "_first_retry_interval_in_milliseconds", "Delay before the first retry, in milliseconds."
    )
    max_number_of_attempts = ReadOnly[int](
        "_max_number_of_attempts", "Total number of attempts, the first one included."
    )

    def to_json(self) -> dict[str, Any]:
        """The ``retryOptions`` object of a ``*WithRetry`` action."""
        return {
            "firstRetryIntervalInMilliseconds": self._first_retry_interval_in_milliseconds,
            "maxNumberOfAttempts": self._max_number_of_attempts,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetryOptions):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash((self._first_retry_interval_in_milliseconds, self._max_number_of_attempts))

    def __repr__(self) -> str:
        return (
            f"RetryOptions(first_retry_interval_in_milliseconds="
            f"{self._first_retry_interval_in_milliseconds}, "
            f"max_number_of_attempts={self._max_number_of_attempts})"
        )


class TokenSource:
    """Base class of the token sources a durable HTTP call can use."""

    def __init__(self) -> None:
        super().__init__()

    def to_json(self) -> dict[str, Any]:
        """The ``tokenSource`` object of an HTTP action; subclasses fill it in."""
        raise NotImplementedError


class ManagedIdentityTokenSource(TokenSource):
    """Ask the host for an Azure AD token of the app's managed identity for ``resource``."""

    __slots__ = ("_kind", "_resource")

    def __init__(self, resource: str) -> None:
        super().__init__()
        self._resource = resource
        self._kind = "AzureManagedIdentity"

    resource = ReadOnly[str](
        "_resource",
        "The Azure AD resource the token is for, e.g. ``https://management.core.windows.net/``.",
    )

    def to_json(self) -> dict[str, Any]:
        return {"resource": self._resource, "kind": self._kind}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ManagedIdentityTokenSource):
            return NotImplemented
        return self._resource == other._resource

    def __hash__(self) -> int:
        return hash(self._resource)

    def __repr__(self) -> str:
        return f"ManagedIdentityTokenSource(resource={self._resource!r})"


class DurableHttpRequest:
    """The request of a durable HTTP call (``context.call_http``)."""

    __slots__ = ("_content", "_headers", "_method", "_token_source", "_uri")

    def __init__(
        self,
        method: str,
        uri: str,
        content: str | None = None,
        headers: dict[str, str] | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        self._method = method
        self._uri = uri
        self._content = content
        self._headers = headers
        self._token_source = token_source

    method = ReadOnly[str]("_method", "HTTP method, e.g. ``GET``.")
    uri = ReadOnly[str]("_uri", "Absolute request URI.")
    content = ReadOnly[str | None](
        "_content", "Request body text (already JSON-encoded unless sent raw)."
    )
    headers = ReadOnly[dict[str, str] | None]("_headers", "Request headers.")
    token_source = ReadOnly[TokenSource | None](
        "_token_source", "Where the host gets a bearer token from, if any."
    )

    def to_json(self) -> dict[str, Any]:
        """The ``httpRequest`` object of a CallHttp action (``tokenSource`` only when set)."""
        json_dict: dict[str, Any] = {
            "method": self._method,
            "uri": self._uri,
            "content": self._content,
            "headers": self._headers,
        }
        if self._token_source:
            json_dict["tokenSource"] = self._token_source.to_json()
        return json_dict

    def __repr__(self) -> str:
        return f"DurableHttpRequest(method={self._method!r}, uri={self._uri!r})"
