"""The test environment's invoker: the app's functions, plus activity stand-ins and
ad-hoc orchestrators, invoked as the Functions worker invokes them."""

from __future__ import annotations

import asyncio
import inspect
import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from durable_functions._protocol import HTTP_ACTIVITY_NAME
from durable_functions.host import driver
from durable_functions.host.functions import LoadedApp
from durable_functions.host.sessions import SessionOpener
from durable_functions.serialization import df_dumps, df_loads

_MISSING = object()


def decode_activity_input(input_json: str) -> Any:
    try:
        return df_loads(input_json)
    except (ValueError, TypeError):
        return input_json  # the activity converter passes non-JSON text through


class EnvInvoker:
    """``driver.Invoker`` over the loaded app, with activity stand-ins and ad-hoc orchestrators."""

    def __init__(self, app: LoadedApp) -> None:
        self.app = app
        self.stubs: dict[str, Any] = {}
        self.adhoc: dict[str, Callable[[str], str]] = {}
        self._entities = frozenset(app.known_entities())
        self.refresh()

    def refresh(self) -> None:
        """Recompute the known names after a change to ``stubs`` or ``adhoc``."""
        self._orchestrators = frozenset(self.app.known_orchestrators()) | frozenset(self.adhoc)
        self._activities = frozenset(self.app.known_activities()) | frozenset(self.stubs)

    def known_orchestrators(self) -> frozenset[str]:
        return self._orchestrators

    def known_activities(self) -> frozenset[str]:
        return self._activities

    def known_entities(self) -> frozenset[str]:
        return self._entities

    def invoke_orchestrator(self, name: str, payload: str) -> str:
        handle = self.adhoc.get(name)
        if handle is not None:
            return handle(payload)
        with platform_notices_silenced():
            return self.app.invoke_orchestrator(name, payload)

    def session_opener(self, name: str) -> SessionOpener | None:
        handle = self.adhoc.get(name)
        opener = getattr(handle, "open_session", None) if handle is not None else None
        if handle is None:
            return self.app.session_opener(name)
        return opener if callable(opener) else None

    def invoke_activity(self, name: str, input_json: str) -> str:
        stub = self.stubs.get(name, _MISSING)
        if stub is _MISSING:
            with platform_notices_silenced():
                return self.app.invoke_activity(name, input_json)
        if isinstance(stub, BaseException):
            raise stub
        if isinstance(stub, type) and issubclass(stub, BaseException):
            raise stub(f"stand-in for activity {name!r}")
        if callable(stub):
            value = stub(decode_activity_input(input_json))
            if inspect.isawaitable(value):
                value = asyncio.run_coroutine_threadsafe(_awaited(value), self.app.loop()).result()
            return df_dumps(value)
        return df_dumps(stub)

    def call_http(self, request_json: str | None) -> str:
        """A durable HTTP call: the ``BuiltIn::HttpActivity`` stand-in if there is one."""
        if HTTP_ACTIVITY_NAME in self.stubs:
            return self.invoke_http_stub(request_json)
        return driver.call_http(request_json)

    def invoke_http_stub(self, request_json: str | None) -> str:
        """Answer a ``context.call_http`` request with the ``BuiltIn::HttpActivity`` stand-in.

        The stand-in gets the request (``method``, ``uri``, ``content``, ``headers``) and
        gives a response dict (``statusCode``, ``headers``, ``content``) or a value that
        becomes the content of a 200 response.
        """
        text = self.invoke_activity(HTTP_ACTIVITY_NAME, json.dumps(_http_request(request_json)))
        response = json.loads(text)
        if isinstance(response, dict) and "statusCode" in response:
            response.setdefault("headers", {})
            response.setdefault("content", None)
        else:
            content = response if isinstance(response, str) or response is None else text
            response = {"statusCode": 200, "headers": {}, "content": content}
        return json.dumps(response)

    def invoke_entity(self, name: str, batch_payload: str) -> str:
        with platform_notices_silenced():
            return self.app.invoke_entity(name, batch_payload)


@contextmanager
def platform_notices_silenced() -> Iterator[None]:
    """Keep azure.functions' one-time typing notices out of the user's test run.

    The worker's converters call ``df_loads`` without a type and announce, once, a
    ``DeprecationWarning`` about strict typing; under ``-W error`` (pytest's
    ``filterwarnings = error``) that would fail the invocation it happens in.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"azure\.functions")
        yield


def _http_request(request_json: str | None) -> dict[str, Any]:
    try:
        request = json.loads(request_json or "{}")
    except ValueError:
        request = {}
    return request if isinstance(request, dict) else {}


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
