"""The host's second engine: Microsoft's Python worker runtime (``--worker ...runtime``).

Azure runs a Python app on 3.13+ through ``azure-functions-runtime`` (v2 apps) or
``azure-functions-runtime-v1`` (function.json apps, given the metadata the Functions host reads
from each ``function.json``), libraries the Functions host drives with the messages of its gRPC
protocol. This engine drives that library
the same way, in process: ``worker_init_request`` (which indexes the app),
``functions_metadata_request``, ``function_load_request`` per function, then one
``invocation_request`` per call, with each binding sent as the Functions host sends it (the
orchestration and entity payloads as ``string``, activity inputs as ``json``, the durable
client payload as ``string``, HTTP requests as ``RpcHttp``). So the app is indexed and called
by the very code Azure uses, and our own loader (``functions.py``) can be measured against it.

The runtime, ``grpcio`` and ``protobuf`` are imported lazily: nothing else needs them. The
protocol's generated messages are the ones ``azure-functions-runtime-v1`` ships.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import importlib.util
import json
import logging
import sys
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from durable_functions.errors import HostError
from durable_functions.host.functions import (
    KIND_ACTIVITY,
    KIND_ENTITY,
    KIND_ORCHESTRATOR,
    AppFunction,
    HttpResult,
    LoadedApp,
    describe_bindings,
)
from durable_functions.host.functions_v1 import (
    FunctionLoadError,
    function_folders,
    read_function_json,
)
from durable_functions.host.sessions import SessionOpener

if TYPE_CHECKING:
    from durable_functions.host.http import Request

log = logging.getLogger("durable_functions.host")

ENGINE = "azure-functions-runtime"
"""The ``--worker`` value that selects this engine."""
_PACKAGES = ("azure-functions-runtime", "azure-functions-runtime-v1", "grpcio", "protobuf")
_PROTOS_MODULE = "_durable_functions_worker_protos"
_SUCCESS = 1  # StatusResult.Success
_DIRECTIONS = {0: "in", 1: "out", 2: "inout"}
_DATA_TYPES = {0: "undefined", 1: "string", 2: "binary", 3: "stream"}


class WorkerFunctionError(Exception):
    """A function failed inside the worker: the ``RpcException`` the Functions host receives.

    ``worker_error_type`` and ``worker_details`` are what the host's failure records show
    (the worker sends ``"<Type>: <message>"`` and the traceback text).
    """

    def __init__(self, message: str, stack_trace: str) -> None:
        error_type, sep, text = message.partition(": ")
        if not sep or not error_type.isidentifier():
            error_type, text = "Exception", message
        super().__init__(text)
        self.worker_error_type = error_type
        self.worker_details = stack_trace or None
        if stack_trace and sys.version_info >= (3, 11):
            self.add_note(f"in the worker:\n{stack_trace.rstrip()}")  # shown with our traceback


def check_available() -> None:
    """Refuse, in one line, when this Python or its packages cannot run the engine.

    Raises:
        HostError: Python is older than 3.13, or a runtime package is missing.
    """
    if sys.version_info < (3, 13):
        version = ".".join(map(str, sys.version_info[:2]))
        raise HostError(f"--worker {ENGINE} needs Python 3.13 or later (this is {version})")
    missing = []
    for package in _PACKAGES:
        try:
            importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            missing.append(package)
    if missing:
        raise HostError(
            f"--worker {ENGINE} needs {', '.join(missing)}: pip install {' '.join(missing)}"
        )


def load_protos() -> ModuleType:
    """The Functions host <-> worker protocol messages (``FunctionRpc_pb2``) as one module.

    ``azure-functions-runtime-v1`` installs them under a top-level ``tests/protos`` folder;
    they are loaded from there under a private name, so no project's own ``tests`` package
    can shadow them.
    """
    loaded = sys.modules.get(_PROTOS_MODULE)
    if loaded is not None:
        return loaded
    dist = importlib.metadata.distribution("azure-functions-runtime-v1")
    init = Path(str(dist.locate_file("tests/protos/__init__.py")))
    if not init.is_file():
        raise HostError(f"azure-functions-runtime-v1 ships no protocol messages at {init}")
    spec = importlib.util.spec_from_file_location(
        _PROTOS_MODULE, init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_PROTOS_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[_PROTOS_MODULE]
        raise
    return module


@dataclass(frozen=True, slots=True)
class _Request:
    """What the worker's ``handle_event`` functions receive: the message and host properties."""

    name: str
    request: Any
    properties: Mapping[str, Any]


class WorkerRuntime:
    """The runtime library, its event loop and the protocol messages, for one app.

    ``azure_functions_runtime`` runs v2 (decorator) apps, ``azure_functions_runtime_v1``
    function.json apps; both take the same messages.
    """

    def __init__(self, app_dir: Path, module: str = "azure_functions_runtime") -> None:
        check_available()
        runtime = importlib.import_module(module)
        self.app_dir = app_dir
        self.runtime: Any = runtime
        self.protos: Any = load_protos()
        # The runtime logs every invocation at INFO; the host's own log says what matters.
        logging.getLogger("azure_functions_worker").setLevel(logging.WARNING)
        logging.getLogger(runtime.handle_event.logger.name).setLevel(logging.WARNING)
        self.load_errors: dict[str, FunctionLoadError] = {}
        """The function.json functions the worker could not load, by function id."""
        self.loop = asyncio.new_event_loop()
        threading.Thread(
            target=self.loop.run_forever, name="durable-functions-worker", daemon=True
        ).start()
        runtime.start_threadpool_executor()

    def send(self, handler: str, message: Any) -> Future[Any]:
        """Hand a message to the runtime's ``handler`` (also its message field) on its loop."""
        wrapped = self.protos.StreamingMessage(**{handler: message})
        request = _Request(handler, wrapped, {"host": "127.0.0.1", "protos": self.protos})
        coroutine = getattr(self.runtime, handler)(request)
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def call(self, handler: str, message: Any) -> Any:
        """``send`` and wait; a failed ``StatusResult`` raises ``HostError``."""
        response = self.send(handler, message).result()
        if response.result.status != _SUCCESS:
            raise HostError(f"{handler} failed: {response.result.exception.message}")
        return response

    def index(self, host_metadata: list[Any] | None = None) -> list[Any]:
        """Init the worker and load every function.

        A v2 worker indexes the app itself; for a function.json app the worker answers
        ``use_default_metadata_indexing`` and the host's own ``host_metadata`` is loaded.
        """
        if str(self.app_dir) not in sys.path:
            sys.path.insert(0, str(self.app_dir))
        p = self.protos
        self.call(
            "worker_init_request",
            p.WorkerInitRequest(
                host_version="4.0.0",
                capabilities={},
                worker_directory=str(self.app_dir),
                function_app_directory=str(self.app_dir),
            ),
        )
        response = self.call(
            "functions_metadata_request",
            p.FunctionsMetadataRequest(function_app_directory=str(self.app_dir)),
        )
        metadata = list(response.function_metadata_results)
        v1 = bool(response.use_default_metadata_indexing)
        if v1:
            metadata = list(host_metadata or ())
        for item in metadata:
            request = p.FunctionLoadRequest(function_id=item.function_id, metadata=item)
            if not v1:
                self.call("function_load_request", request)
                continue
            # A function.json function that fails to load is in error alone, as in Azure.
            loaded = self.send("function_load_request", request).result()
            if loaded.result.status != _SUCCESS:
                error = FunctionLoadError(item.name, loaded.result.exception.message)
                log.error("%s", error)
                self.load_errors[item.function_id] = error
        return metadata

    def invoke(self, function_id: str, inputs: Mapping[str, Any]) -> Future[Any]:
        """One ``InvocationRequest`` with these ``TypedData`` inputs (by parameter name)."""
        p = self.protos
        request = p.InvocationRequest(
            invocation_id=str(uuid.uuid4()),
            function_id=function_id,
            input_data=[p.ParameterBinding(name=k, data=v) for k, v in inputs.items()],
        )
        return self.send("invocation_request", request)


def _not_loaded(error: FunctionLoadError) -> Any:
    def not_loaded(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return not_loaded


def metadata_bindings(item: Any) -> list[dict[str, Any]]:
    """The binding dicts of one ``RpcFunctionMetadata`` (its raw bindings, as the host reads)."""
    bindings: list[dict[str, Any]] = [json.loads(raw) for raw in item.raw_bindings]
    for binding in bindings:
        info = item.bindings.get(binding.get("name"))
        if info is not None:
            binding["direction"] = _DIRECTIONS.get(info.direction, str(info.direction))
            binding["dataType"] = _DATA_TYPES.get(info.data_type, str(info.data_type))
    return bindings


def _trigger_type(bindings: list[dict[str, Any]]) -> str:
    return next(
        (str(b.get("type")) for b in bindings if str(b.get("type", "")).endswith("Trigger")), ""
    )


class WorkerRuntimeApp(LoadedApp):
    """``LoadedApp`` whose functions are indexed and invoked by Microsoft's worker runtime.

    Orchestrators always replay their whole history: the orchestrator runs inside the
    worker, so the host cannot keep it between episodes (no session opener).
    """

    def __init__(self, app_dir: Path, worker: WorkerRuntime, metadata: list[Any]) -> None:
        self.worker = worker
        self.metadata = metadata
        self._ids: dict[str, str] = {}
        functions: list[AppFunction] = []
        registry = worker.runtime.handle_event._functions
        for item in metadata:
            bindings = metadata_bindings(item)
            error = worker.load_errors.get(item.function_id)
            if error is not None:  # not in the worker: calling it raises the load error
                fn = describe_bindings(
                    item.name, _trigger_type(bindings), bindings, _not_loaded(error), check=False
                )
            else:
                info = registry.get_function(item.function_id)
                fn = describe_bindings(item.name, _trigger_type(bindings), bindings, info.func)
                # The worker decides who gets a ``func.Context``; the host only reports it.
                fn = dataclasses.replace(fn, wants_context=bool(info.requires_context))
            http_out = next(
                (
                    str(b.get("name"))
                    for b in bindings
                    if b.get("type") == "http" and b.get("direction") != "in"
                ),
                None,
            )
            if http_out not in (None, "$return"):
                fn = dataclasses.replace(fn, http_output=http_out)
            functions.append(fn)
            self._ids[fn.name] = item.function_id
        super().__init__(app_dir, functions)

    def session_opener(self, name: str) -> SessionOpener | None:
        """None: the orchestrator lives in the worker, so every episode is a full replay."""
        return None

    # -- invocations --------------------------------------------------------------------
    def _inputs(self, fn: AppFunction, trigger: Any) -> dict[str, Any]:
        inputs = {fn.trigger_param: trigger}
        if fn.client_param is not None:
            inputs[fn.client_param] = self.worker.protos.TypedData(
                string=self.client_payload(fn.client_hub)
            )
        return inputs

    def _start(self, kind: str, name: str, trigger: Any) -> Future[str]:
        fn = self.find(kind, name)
        answer: Future[str] = Future()
        error = self.worker.load_errors.get(self._ids[fn.name])
        if error is not None:
            answer.set_exception(error)
            return answer

        def done(sent: Future[Any]) -> None:
            try:
                answer.set_result(_return_text(sent.result(), activity=kind == KIND_ACTIVITY))
            except BaseException as exc:  # noqa: BLE001 - the future carries it
                answer.set_exception(exc)

        self.worker.invoke(self._ids[fn.name], self._inputs(fn, trigger)).add_done_callback(done)
        return answer

    def invoke_orchestrator(self, name: str, payload: str) -> str:
        """One episode: the payload as a ``string`` binding, the state from ``$return``."""
        trigger = self.worker.protos.TypedData(string=payload)
        return self._start(KIND_ORCHESTRATOR, name, trigger).result()

    def invoke_activity(self, name: str, input_json: str) -> str:
        """One activity: its input as a ``json`` binding, its result JSON from ``$return``."""
        return self.start_activity(name, input_json, _NO_POOL).result()

    def start_activity(self, name: str, input_json: str, pool: Executor) -> Future[str]:
        """Start an activity; the worker runs sync ones on its own thread pool."""
        trigger = self.worker.protos.TypedData(json=input_json)
        return self._start(KIND_ACTIVITY, name, trigger)

    def invoke_entity(self, name: str, batch_payload: str) -> str:
        """One entity batch: the payload as a ``string`` binding."""
        trigger = self.worker.protos.TypedData(string=batch_payload)
        return self._start(KIND_ENTITY, name, trigger).result()

    async def invoke_http(
        self, fn: AppFunction, request: Request, route_params: Mapping[str, str]
    ) -> HttpResult:
        """The request as ``RpcHttp`` (the body as raw bytes), the response read back from it."""
        error = self.worker.load_errors.get(self._ids[fn.name])
        if error is not None:
            raise error
        p = self.worker.protos
        http = p.RpcHttp(
            method=request.method,
            url=request.url,
            headers=dict(request.headers),
            query=dict(request.query),
            params=dict(route_params),
        )
        if request.body:
            http.body.CopyFrom(p.TypedData(bytes=request.body))
        sent = self.worker.invoke(self._ids[fn.name], self._inputs(fn, p.TypedData(http=http)))
        response = await asyncio.wrap_future(sent)
        if response.result.status != _SUCCESS:
            raise _failure(response)
        return _http_result(response, fn.http_output)


class _NoPool(Executor):
    """The worker runs activities on its own pool; nothing is ever submitted here."""


_NO_POOL = _NoPool()


def _failure(response: Any) -> WorkerFunctionError:
    exception = response.result.exception
    return WorkerFunctionError(exception.message, exception.stack_trace)


def _typed_value(data: Any) -> Any:
    """The Python value of one ``TypedData`` (``None`` when unset)."""
    kind = data.WhichOneof("data")
    return None if kind is None else getattr(data, kind)


def _return_text(response: Any, *, activity: bool = False) -> str:
    """The ``$return`` value of a durable function as JSON text, or its failure raised.

    An orchestrator's or entity's ``string`` is the JSON of its state. An activity's
    ``string`` is its result: a function.json activity without a ``$return`` binding
    returns ``str`` values as such, and the Durable extension stores them as JSON strings.
    """
    if response.result.status != _SUCCESS:
        raise _failure(response)
    data = response.return_value if response.HasField("return_value") else None
    value = _typed_value(data) if data is not None else None
    if value is None:
        return "null"
    if activity and data is not None and data.WhichOneof("data") == "string":
        return json.dumps(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _http_result(response: Any, output: str | None) -> HttpResult:
    """What the Functions host answers: the HTTP function's ``$return``, or its named
    ``http`` output binding (``output``, a function.json app's ``message.set(...)``)."""
    if output is not None:
        data = next((b.data for b in response.output_data if b.name == output), None)
    else:
        data = response.return_value if response.HasField("return_value") else None
    if data is None:
        return HttpResult(status=204)
    kind = data.WhichOneof("data")
    if kind != "http":
        value = _typed_value(data)
        text = value if isinstance(value, (str, bytes)) else json.dumps(value)
        raw = text if isinstance(text, bytes) else text.encode("utf-8")
        return HttpResult(
            status=200, headers=[("Content-Type", "text/plain; charset=utf-8")], body=raw
        )
    http = data.http
    headers = [(str(k), str(v)) for k, v in http.headers.items()]
    headers += [("Set-Cookie", _cookie_text(cookie)) for cookie in http.cookies]
    body = _typed_value(http.body) if http.HasField("body") else None
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpResult(status=int(http.status_code or 200), headers=headers, body=body or b"")


def _cookie_text(cookie: Any) -> str:
    """An ``RpcHttpCookie`` as a ``Set-Cookie`` value (attributes in ``http.cookies`` order)."""
    parts = [f"{cookie.name}={cookie.value}"]
    if cookie.HasField("expires"):
        stamp = cookie.expires.value.ToDatetime()
        parts.append(f"expires={stamp:%a, %d %b %Y %H:%M:%S} GMT")
    if cookie.HasField("path") and cookie.path.value:
        parts.append(f"Path={cookie.path.value}")
    if cookie.HasField("domain") and cookie.domain.value:
        parts.append(f"Domain={cookie.domain.value}")
    if cookie.HasField("max_age") and cookie.max_age.value:
        parts.append(f"Max-Age={int(cookie.max_age.value)}")
    if cookie.HasField("secure") and cookie.secure.value:
        parts.append("Secure")
    if cookie.HasField("http_only") and cookie.http_only.value:
        parts.append("HttpOnly")
    same_site = {1: "Lax", 2: "Strict", 3: "None"}.get(int(cookie.same_site))
    if same_site:
        parts.append(f"SameSite={same_site}")
    return "; ".join(parts)


def load_worker_app(app_dir: Path) -> WorkerRuntimeApp:
    """Index ``app_dir`` through Microsoft's worker runtime (v2, else function.json).

    Raises:
        HostError: the engine is unavailable, there is no app, or the worker refused it.
    """
    app_dir = app_dir.resolve()
    if (app_dir / "function_app.py").is_file():
        worker = WorkerRuntime(app_dir)
        metadata = worker.index()
    else:
        folders = function_folders(app_dir)
        if not folders:
            raise HostError(f"no function_app.py and no */function.json in {app_dir}")
        worker = WorkerRuntime(app_dir, "azure_functions_runtime_v1")
        metadata = worker.index([function_json_metadata(worker.protos, f) for f in folders])
    if not metadata:
        raise HostError(f"the app in {app_dir} registers no functions")
    return WorkerRuntimeApp(app_dir, worker, metadata)


# -- function.json apps: the metadata the Functions host reads ---------------------------


def function_json_metadata(protos: Any, folder: Path) -> Any:
    """The ``RpcFunctionMetadata`` the Functions host sends for one function.json folder.

    Raises:
        HostError: the file is not a JSON object whose bindings have a type and a name.
    """
    config = read_function_json(folder)
    bindings: list[dict[str, Any]] = config["bindings"]
    directions = {v: k for k, v in _DIRECTIONS.items()}
    data_types = {v: k for k, v in _DATA_TYPES.items()}
    infos = {
        str(b.get("name")): protos.BindingInfo(
            type=str(b.get("type", "")),
            direction=directions.get(str(b.get("direction", "in")).lower(), 0),
            data_type=data_types.get(str(b.get("dataType", "undefined")).lower(), 0),
        )
        for b in bindings
    }
    return protos.RpcFunctionMetadata(
        name=folder.name,
        function_id=str(uuid.uuid5(uuid.NAMESPACE_OID, folder.name)),
        directory=str(folder),
        script_file=str((folder / str(config.get("scriptFile") or "__init__.py")).resolve()),
        entry_point=str(config.get("entryPoint") or ""),
        language="python",
        bindings=infos,
        raw_bindings=[json.dumps(b) for b in bindings],
    )
