"""Edge cases of how a function is called, for the engine comparison (test_worker_engines.py).

A ``context`` parameter, an output binding, JSON/form bodies, headers and query strings,
return values the HTTP converter refuses, ``None`` from an HTTP function, an async HTTP
function, activities returning ``None`` and raising an exception class of the app's own.
"""

import json

import azure.functions as func

import durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


class AppError(Exception):
    """An exception class of the app's own (its name reaches the failure reason)."""


@app.route(route="context", methods=["GET"])
def with_context_http(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    seen = [context.function_name, bool(context.invocation_id), context.function_directory]
    return func.HttpResponse(json.dumps(seen))


@app.route(route="request", methods=["POST"])
def request_parts(req: func.HttpRequest) -> func.HttpResponse:
    parts = {
        "json": req.get_json(),
        "custom_headers": sorted(k for k in dict(req.headers) if k.startswith("x-")),
        "path": req.url.split("/api/", 1)[1],
        "params": dict(req.params),
        "method": req.method,
    }
    return func.HttpResponse(json.dumps(parts), mimetype="application/json")


@app.route(route="form", methods=["POST"])
def form(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(dict(req.form.items())))


@app.route(route="dict", methods=["GET"])
def returns_dict(req: func.HttpRequest):
    return {"not": "an HttpResponse"}


@app.route(route="bytes", methods=["GET"])
def returns_bytes(req: func.HttpRequest):
    return b"raw"


@app.route(route="teapot", methods=["GET"])
def teapot(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("short and stout", status_code=418, headers={"X-Pot": "1"})


@app.route(route="none", methods=["GET"])
def returns_none(req: func.HttpRequest) -> func.HttpResponse:
    return None


@app.route(route="async", methods=["GET"])
async def async_http(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("async " + (req.params.get("q") or ""))


@app.route(route="queued", methods=["GET"])
@app.queue_output(arg_name="msg", queue_name="outbox", connection="AzureWebJobsStorage")
def queued(req: func.HttpRequest, msg: func.Out[str]) -> func.HttpResponse:
    """An output binding: the worker passes a ``func.Out`` (the local host drops its value)."""
    msg.set("hello")
    return func.HttpResponse(f"queued {msg.get()}")


@app.orchestration_trigger(context_name="context")
def edges(context: df.DurableOrchestrationContext):
    out = [(yield context.call_activity("nothing"))]
    out.append((yield context.call_activity("with_context", 3)))
    try:
        yield context.call_activity("app_error", "x")
    except Exception as exc:  # the failure text, up to the traceback
        out.append(str(exc).split("\n")[0])
    out.append((yield context.call_activity("echo", {"nested": [1, None, "\u00e9"], "n": 1.5})))
    out.append((yield context.call_activity("echo", "plain string")))
    out.append((yield context.call_activity("echo", "")))
    return out


@app.orchestration_trigger(context_name="context")
def app_error_unhandled(context: df.DurableOrchestrationContext):
    yield context.call_activity("app_error", "y")


@app.activity_trigger(input_name="value")
def nothing(value) -> None:
    return None


@app.activity_trigger(input_name="value")
def with_context(value: int, context: func.Context) -> str:
    return f"{context.function_name}:{value}"


@app.activity_trigger(input_name="value")
def app_error(value: str) -> str:
    raise AppError("refused " + value)


@app.activity_trigger(input_name="value")
def echo(value):
    return value
