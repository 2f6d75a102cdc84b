"""Load a v2 Python function app and invoke its functions as the Python worker does.

The app is indexed like the worker indexes it: import ``function_app.py``, find its one
``FunctionApp``/``DFApp`` object (blueprints are registered on it), call ``get_functions()``
and make the worker's checks (``_indexing.py``).
Payloads cross into user code only through ``azure.functions``' own converters and types
(``OrchestrationContext``, ``EntityContext``, the activity trigger's ``df_loads``/``df_dumps``,
``HttpRequest``/``HttpResponse``, the durable client payload as ``str``), so an app written
for Microsoft's ``azure-functions-durable`` runs unchanged, and so does one written for
this SDK.

``azure.functions`` is imported lazily: this module is only loaded by ``durable start``.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durable_functions.errors import FunctionNotFoundError, HostError
from durable_functions.host._indexing import check_signature, check_single_app
from durable_functions.host.bindings import Binding, binding_arguments, log_outputs
from durable_functions.host.sessions import SessionOpener

if TYPE_CHECKING:
    from durable_functions.host.http import Request

log = logging.getLogger("durable_functions.host")

KIND_HTTP = "http"
KIND_ORCHESTRATOR = "orchestrator"
KIND_ACTIVITY = "activity"
KIND_ENTITY = "entity"
KIND_OTHER = "other"

TRIGGER_KINDS = {
    "httpTrigger": KIND_HTTP,
    "orchestrationTrigger": KIND_ORCHESTRATOR,
    "activityTrigger": KIND_ACTIVITY,
    "entityTrigger": KIND_ENTITY,
}
DURABLE_NAME_PROPERTY = {
    KIND_ORCHESTRATOR: "orchestration",
    KIND_ACTIVITY: "activity",
    KIND_ENTITY: "entityName",
}
CLIENT_TYPES = ("durableClient", "orchestrationClient")
"""The durable client binding, under its current and its Durable 1.x name."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AppFunction:
    """One indexed function of the app."""

    name: str
    """The Functions function name."""
    kind: str
    """``http``, ``orchestrator``, ``activity``, ``entity`` or ``other`` (not run locally)."""
    durable_name: str
    """The name orchestrations use to call it (trigger property override, else ``name``)."""
    func: Callable[..., Any]
    """The callable the worker would call."""
    trigger_param: str
    """The parameter receiving the trigger value."""
    client_param: str | None = None
    """The parameter receiving the durable client payload, if any."""
    client_hub: str | None = None
    """The ``taskHub`` property of the durable client binding."""
    methods: tuple[str, ...] = ()
    """Allowed HTTP methods (empty = all)."""
    route: str = ""
    """HTTP route template (defaults to the function name)."""
    auth_level: str = "function"
    """HTTP auth level: ``anonymous``, ``function`` or ``admin``."""
    wants_context: bool = False
    """The function declares a ``context`` parameter that is not a binding."""
    trigger_type: str = ""
    """The raw trigger binding type."""
    bindings: tuple[Binding, ...] = ()
    """Other bindings passed as parameters: ``Out`` objects for outputs, ``None`` for inputs."""
    http_output: str | None = None
    """The parameter of a named ``http`` output (v1); ``None``: the return value is the answer."""
    directory: Path | None = None
    """The function's folder (v1), for ``func.Context.function_directory``."""
    metadata: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    """Every binding as the function's metadata declares it (name, type, direction, ...)."""

    @property
    def is_async(self) -> bool:
        """Whether calling the function returns a coroutine."""
        return inspect.iscoroutinefunction(self.func)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResult:
    """An HTTP function's response, after the worker's HTTP converter."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value))


def _invocation_context(fn: AppFunction, app_dir: Path) -> Any:
    """Build the ``func.Context`` the worker passes to a ``context`` parameter."""
    import azure.functions as func

    class _Context(func.Context):
        def __init__(self) -> None:
            self._invocation_id = str(uuid.uuid4())
            self._local = threading.local

        @property
        def invocation_id(self) -> str:
            return self._invocation_id

        @property
        def thread_local_storage(self) -> type[threading.local]:
            return self._local

        @property
        def function_name(self) -> str:
            return fn.name

        @property
        def function_directory(self) -> str:
            return str(fn.directory or app_dir)

        @property
        def trace_context(self) -> Any:
            return None

        @property
        def retry_context(self) -> Any:
            return None

    return _Context()


class LoadedApp:
    """The indexed app plus the invocation paths the host needs (the ``Invoker``)."""

    def __init__(self, app_dir: Path, functions: list[AppFunction]) -> None:
        self.app_dir = app_dir
        self.functions = functions
        self._by_kind: dict[str, dict[str, AppFunction]] = {}
        for fn in functions:
            table = self._by_kind.setdefault(fn.kind, {})
            if fn.durable_name in table:
                raise HostError(f"two {fn.kind} functions are named {fn.durable_name!r}")
            table[fn.durable_name] = fn
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_lock = threading.Lock()
        self.client_payload: Callable[[str | None], str] = lambda hub: "{}"
        """Builds the durable client binding payload; set by the server once its port is known."""

    # -- lookups ----------------------------------------------------------------------
    def _get(self, kind: str, name: str) -> AppFunction:
        table = self._by_kind.get(kind, {})
        if name in table:
            return table[name]
        for key, fn in table.items():  # the extension matches names case-insensitively
            if key.lower() == name.lower():
                return fn
        known = ", ".join(sorted(table)) or "none"
        raise FunctionNotFoundError(f"no {kind} function named {name!r} (known: {known})")

    def find(self, kind: str, name: str) -> AppFunction:
        """Return the function of that kind and durable name, or raise FunctionNotFoundError."""
        return self._get(kind, name)

    def known_orchestrators(self) -> list[str]:
        """Durable names of the app's orchestrators."""
        return sorted(self._by_kind.get(KIND_ORCHESTRATOR, {}))

    def known_activities(self) -> list[str]:
        """Durable names of the app's activities."""
        return sorted(self._by_kind.get(KIND_ACTIVITY, {}))

    def known_entities(self) -> list[str]:
        """Durable names of the app's entities."""
        return sorted(self._by_kind.get(KIND_ENTITY, {}))

    def session_opener(self, name: str) -> SessionOpener | None:
        """How to run orchestrator ``name`` in a session, if it is one of this SDK's.

        Orchestrators of ``azure-functions-durable`` (or any handler without this SDK's
        ``open_session``) speak only the JSON protocol: they replay every episode.
        """
        fn = self._get(KIND_ORCHESTRATOR, name)
        opener = getattr(fn.func, "open_session", None)
        if not callable(opener) or fn.wants_context or fn.client_param is not None:
            return None
        return opener  # type: ignore[no-any-return]

    def http_functions(self) -> list[AppFunction]:
        """HTTP-triggered functions in index order."""
        return [fn for fn in self.functions if fn.kind == KIND_HTTP]

    # -- the async loop user coroutines run on ----------------------------------------
    def loop(self) -> asyncio.AbstractEventLoop:
        """The one event loop async functions run on (started on first use)."""
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="durable-functions-loop", daemon=True
                )
                thread.start()
                self._loop = loop
            return self._loop

    def _call(self, fn: AppFunction, kwargs: dict[str, Any]) -> Any:
        if fn.wants_context:
            kwargs["context"] = _invocation_context(fn, self.app_dir)
        if fn.is_async:
            future: Future[Any] = asyncio.run_coroutine_threadsafe(fn.func(**kwargs), self.loop())
            return future.result()
        result = fn.func(**kwargs)
        if inspect.isawaitable(result):
            return asyncio.run_coroutine_threadsafe(_await(result), self.loop()).result()
        return result

    def _extra_kwargs(self, fn: AppFunction) -> dict[str, Any]:
        extra = binding_arguments(fn.bindings) if fn.bindings else {}
        if fn.client_param is not None:
            extra[fn.client_param] = self.client_payload(fn.client_hub)
        return extra

    # -- the Invoker protocol ---------------------------------------------------------
    def invoke_orchestrator(self, name: str, payload: str) -> str:
        """Run one orchestrator episode; returns OrchestratorState JSON or raises."""
        from azure.functions.durable_functions import OrchestrationTriggerConverter

        return self._invoke(KIND_ORCHESTRATOR, name, OrchestrationTriggerConverter, payload)

    def invoke_activity(self, name: str, input_json: str) -> str:
        """Run an activity; returns the JSON text of its result or raises its exception."""
        from azure.functions.durable_functions import ActivityTriggerConverter

        return self._invoke(KIND_ACTIVITY, name, ActivityTriggerConverter, input_json)

    def start_activity(self, name: str, input_json: str, pool: Executor) -> Future[str]:
        """Start an activity without blocking: sync ones on ``pool``, async ones on the loop."""
        fn = self._get(KIND_ACTIVITY, name)
        if not fn.is_async:
            return pool.submit(self.invoke_activity, name, input_json)
        from azure.functions import meta
        from azure.functions.durable_functions import ActivityTriggerConverter

        value = ActivityTriggerConverter.decode(
            meta.Datum(type="string", value=input_json), trigger_metadata=None
        )
        kwargs = {fn.trigger_param: value, **self._extra_kwargs(fn)}
        if fn.wants_context:
            kwargs["context"] = _invocation_context(fn, self.app_dir)

        async def run() -> str:
            result = await fn.func(**kwargs)
            log_outputs(fn.name, fn.bindings, kwargs)
            return _as_text(ActivityTriggerConverter.encode(result, expected_type=None).value)

        return asyncio.run_coroutine_threadsafe(run(), self.loop())

    def invoke_entity(self, name: str, batch_payload: str) -> str:
        """Run one entity batch; returns the batch result JSON."""
        from azure.functions.durable_functions import EnitityTriggerConverter

        return self._invoke(KIND_ENTITY, name, EnitityTriggerConverter, batch_payload)

    def _invoke(self, kind: str, name: str, converter: Any, payload: str) -> str:
        """Decode ``payload`` with the trigger's converter, call the function, encode its result."""
        from azure.functions import meta

        fn = self._get(kind, name)
        value = converter.decode(meta.Datum(type="string", value=payload), trigger_metadata=None)
        kwargs = {fn.trigger_param: value, **self._extra_kwargs(fn)}
        result = self._call(fn, kwargs)
        log_outputs(fn.name, fn.bindings, kwargs)
        return _as_text(converter.encode(result, expected_type=None).value)

    async def invoke_http(
        self, fn: AppFunction, request: Request, route_params: Mapping[str, str]
    ) -> HttpResult:
        """Run an HTTP function off the server's loop and convert its return value."""
        from azure.functions import meta
        from azure.functions.http import HttpRequestConverter, HttpResponseConverter

        def datum_map(values: Mapping[str, str]) -> dict[str, Any]:
            return {k: meta.Datum(type="string", value=v) for k, v in values.items()}

        trigger = HttpRequestConverter.decode(
            meta.Datum(
                type="http",
                value={
                    "method": meta.Datum(type="string", value=request.method),
                    "url": meta.Datum(type="string", value=request.url),
                    "headers": datum_map(request.headers),
                    "query": datum_map(request.query),
                    "params": datum_map(route_params),
                    "body": meta.Datum(type="bytes", value=request.body),
                },
            ),
            trigger_metadata=None,
        )
        kwargs = {fn.trigger_param: trigger, **self._extra_kwargs(fn)}
        if fn.wants_context:
            kwargs["context"] = _invocation_context(fn, self.app_dir)
        if fn.is_async:
            future = asyncio.run_coroutine_threadsafe(fn.func(**kwargs), self.loop())
            result = await asyncio.wrap_future(future)
        else:
            result = await asyncio.get_running_loop().run_in_executor(
                None, lambda: fn.func(**kwargs)
            )
        log_outputs(fn.name, fn.bindings, kwargs)
        if fn.http_output is not None:
            result = kwargs[fn.http_output].get()
        if result is None:
            return HttpResult(status=204)
        datum = HttpResponseConverter.encode(result, expected_type=None)
        if datum.type == "string":
            return HttpResult(
                status=200,
                headers=[("Content-Type", "text/plain; charset=utf-8")],
                body=str(datum.value).encode("utf-8"),
            )
        value = datum.value
        sent = [(str(k), str(v.value)) for k, v in value["headers"].items()]
        for cookie in value.get("cookies") or ():  # the converter moves Set-Cookie here
            for morsel in cookie.values():
                sent.append(("Set-Cookie", morsel.OutputString()))
        return HttpResult(
            status=int(value["status_code"].value),
            headers=sent,
            body=bytes(value["body"].value or b""),
        )


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _describe(app_dir: Path, raw: Any) -> AppFunction:
    """Turn one ``azure.functions`` Function object into an AppFunction."""
    trigger = raw.get_trigger()
    trigger_type = str(getattr(trigger, "type", "")) if trigger is not None else ""
    bindings: list[dict[str, Any]] = [b.get_dict_repr() for b in raw.get_bindings()]
    return describe_bindings(
        raw.get_function_name(), trigger_type, bindings, raw.get_user_function()
    )


def describe_bindings(
    name: str,
    trigger_type: str,
    bindings: list[dict[str, Any]],
    user: Callable[..., Any],
    *,
    check: bool = True,
) -> AppFunction:
    """The AppFunction of a function with these binding dicts (also used for worker metadata).

    ``check=False`` skips the signature check (a function the worker could not load).

    Raises:
        HostError: Azure's worker would refuse the function (``_indexing.check_signature``).
    """
    if check:
        check_signature(name, bindings, user)
    kind = TRIGGER_KINDS.get(trigger_type, KIND_OTHER)
    trigger_dict: dict[str, Any] = next((b for b in bindings if b.get("type") == trigger_type), {})
    client = next((b for b in bindings if b.get("type") in CLIENT_TYPES), None)
    binding_names = {str(b.get("name")) for b in bindings}
    try:
        params = inspect.signature(user).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    wants_context = "context" in params and "context" not in binding_names
    durable_prop = DURABLE_NAME_PROPERTY.get(kind)
    durable_name = str((trigger_dict.get(durable_prop) if durable_prop else None) or name)
    methods = tuple(_enum_value(m).upper() for m in (trigger_dict.get("methods") or ()))
    route = str(trigger_dict.get("route") or name)
    auth = _enum_value(trigger_dict.get("authLevel") or "function").lower()
    return AppFunction(
        name=name,
        kind=kind,
        durable_name=durable_name,
        func=user,
        trigger_param=str(trigger_dict.get("name") or ""),
        client_param=str(client["name"]) if client else None,
        client_hub=str(client["taskHub"]) if client and client.get("taskHub") else None,
        methods=methods,
        route=route.strip("/"),
        auth_level=auth,
        wants_context=wants_context,
        trigger_type=trigger_type,
        bindings=tuple(
            Binding(str(b.get("name")), str(b.get("type")), _direction(b))
            for b in bindings
            if b is not trigger_dict and b is not client and b.get("name") != "$return"
        ),
        metadata=tuple(bindings),
    )


def _direction(binding: Mapping[str, Any]) -> str:
    """``in``/``out``/``inout`` of a decorator's binding dict (an enum or its text)."""
    direction = binding.get("direction")
    return str(getattr(direction, "name", direction) or "in").lower()


def load_app(app_dir: Path, *, module_name: str = "function_app") -> LoadedApp:
    """Import ``function_app.py`` from ``app_dir`` and index its functions.

    Raises:
        HostError: the file is missing, fails to import, or registers no functions.
    """
    from azure.functions import FunctionRegister

    app_dir = app_dir.resolve()
    script = app_dir / f"{module_name}.py"
    if not script.is_file():
        legacy = any(p.joinpath("function.json").is_file() for p in app_dir.iterdir() if p.is_dir())
        hint = (
            " This looks like a v1 (function.json) app: load it with functions_v1.load_any_app."
            if legacy
            else ""
        )
        raise HostError(f"no {module_name}.py in {app_dir}.{hint}")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        log.exception("importing %s failed", script.name)
        raise HostError(f"importing {script.name} failed: {type(exc).__name__}: {exc}") from exc
    registers = [v for v in vars(module).values() if isinstance(v, FunctionRegister)]
    if not registers:
        raise HostError(f"{script.name} defines no FunctionApp (e.g. app = df.DFApp())")
    check_single_app(type(v).__name__ for v in registers)
    functions = describe_functions(app_dir, registers)
    if not functions:
        raise HostError(f"{script.name} registers no functions")
    return LoadedApp(app_dir, functions)


def describe_functions(app_dir: Path, registers: Iterable[Any]) -> list[AppFunction]:
    """The functions the registers (``FunctionRegister``s) hold, in order.

    Raises:
        HostError: two functions share a name.
    """
    functions: list[AppFunction] = []
    seen: set[str] = set()
    for register in registers:
        for raw in register.get_functions():
            fn = _describe(app_dir, raw)
            if fn.name in seen:
                raise HostError(f"function name {fn.name!r} is registered twice")
            seen.add(fn.name)
            functions.append(fn)
    return functions
