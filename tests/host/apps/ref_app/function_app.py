"""A sample app for the local host tests, for Microsoft's ``azure-functions-durable``, unchanged.

The same code, with only the import changed, lives in ``../sdk_app`` for this SDK.
"""

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

_attempts: dict[str, int] = {}
_episodes: dict[str, int] = {}


def _log_activity(name: str, value: object) -> None:
    """Append to the activity log named by ACTIVITY_LOG (the crash test reads it)."""
    path = os.environ.get("ACTIVITY_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps([name, value, os.getpid(), time.time()]) + "\n")


# ----------------------------------------------------------------------------- HTTP


@app.route(route="orchestrators/{name}/{instance_id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(
        req.route_params["name"], req.route_params.get("instance_id"), payload
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="run/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_run(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["name"], None, json.loads(body))
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=15000, retry_interval_in_milliseconds=100
    )


@app.route(route="status/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def http_status(req: func.HttpRequest, client) -> func.HttpResponse:
    status = await client.get_status(req.route_params["instance_id"])
    return func.HttpResponse(
        json.dumps({"runtimeStatus": status.runtime_status.value, "output": status.output}),
        mimetype="application/json",
    )


@app.route(route="hello/{name?}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name") or req.params.get("name") or "world"
    return func.HttpResponse(f"hello {name}", headers={"X-Sample": "yes"})


@app.route(route="items/{item_id:int}", methods=["GET"])
def item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(str(int(req.route_params["item_id"]) * 2))


@app.route(route="echo", methods=["POST", "PUT"])
def echo(req: func.HttpRequest) -> str:
    return req.get_body().decode()


@app.route(route="cookies", methods=["GET"])
def cookies(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse("with cookies")
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2")
    return response


@app.route(route="binding", methods=["GET"])
@app.generic_input_binding(arg_name="client", type="durableClient")
def binding(req: func.HttpRequest, client: str) -> func.HttpResponse:
    return func.HttpResponse(client, mimetype="application/json")


@app.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("the HTTP function exploded")


@app.route(route="secret", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def secret(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("the secret")


# ----------------------------------------------------------------------------- orchestrators


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    value = context.get_input()
    a = yield context.call_activity("add_one", value)
    b = yield context.call_activity("add_one", a)
    return b


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    tasks = [context.call_activity("add_one", i) for i in range(count)]
    results = yield context.task_all(tasks)
    return sum(results)


@app.orchestration_trigger(context_name="context")
def fan_out_async(context: df.DurableOrchestrationContext):
    count = context.get_input()
    tasks = [context.call_activity("add_one_async", i) for i in range(count)]
    results = yield context.task_all(tasks)
    return sum(results)


@app.orchestration_trigger(context_name="context")
def counter_calls(context: df.DurableOrchestrationContext):
    entity = df.EntityId("counter", context.get_input())
    context.signal_entity(entity, "add", 5)
    value = yield context.call_entity(entity, "get")
    return value


@app.orchestration_trigger(context_name="context")
def wait_event(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    value = yield context.wait_for_external_event("approve")
    return {"approved": value}


@app.orchestration_trigger(context_name="context")
def timer(context: df.DurableOrchestrationContext):
    seconds = context.get_input()
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    return "fired"


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    value = context.get_input()
    result = yield context.call_sub_orchestrator("chain", value)
    return result * 10


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    result = yield context.call_activity_with_retry("flaky", options, context.instance_id)
    return result


@app.orchestration_trigger(context_name="context")
def continue_counter(context: df.DurableOrchestrationContext):
    n = context.get_input()
    if n < 3:
        context.continue_as_new(n + 1)
        return None
    return n


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    yield context.call_activity("add_one", 1)
    raise ValueError("the orchestrator exploded")


@app.orchestration_trigger(context_name="context")
def fails_once(context: df.DurableOrchestrationContext):
    result = yield context.call_activity("fail_first_time", context.instance_id)
    return result


@app.orchestration_trigger(context_name="context")
def parent_of_fails_once(context: df.DurableOrchestrationContext):
    result = yield context.call_sub_orchestrator("fails_once")
    return f"child said: {result}"


@app.orchestration_trigger(context_name="context")
def version_of(context: df.DurableOrchestrationContext):
    return context.version


@app.orchestration_trigger(context_name="context")
def nondeterministic(context: df.DurableOrchestrationContext):
    seen = _episodes.get(context.instance_id, 0)
    _episodes[context.instance_id] = seen + 1
    yield context.call_activity("add_one" if seen == 0 else "flaky", 1)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def logged_long_chain(context: df.DurableOrchestrationContext):
    """``"key:n"``: n logged activities one after another (the session crash test)."""
    key, _, count = context.get_input().rpartition(":")
    results = []
    for i in range(int(count)):
        results.append((yield context.call_activity("logged", f"{key}:{i}")))
    return results


@app.orchestration_trigger(context_name="context")
def step_then_wait(context: df.DurableOrchestrationContext):
    """One activity, then an event. STEP_ACTIVITY changes the activity: a code change."""
    first = yield context.call_activity(os.environ.get("STEP_ACTIVITY", "add_one"), 1)
    go = yield context.wait_for_external_event("go")
    return [first, go]


@app.orchestration_trigger(context_name="context")
def logged_chain(context: df.DurableOrchestrationContext):
    key = context.get_input()
    first = yield context.call_activity("logged", f"{key}:a")
    second = yield context.call_activity("logged", f"{key}:b")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def logged_fan_out(context: df.DurableOrchestrationContext):
    key = context.get_input()
    tasks = [context.call_activity("logged", f"{key}:{i}") for i in range(4)]
    results = yield context.task_all(tasks)
    return results


@app.orchestration_trigger(context_name="context")
def http_call(context: df.DurableOrchestrationContext):
    response = yield context.call_http("GET", context.get_input())
    return response


# ----------------------------------------------------------------------------- activities


@app.activity_trigger(input_name="value")
def add_one(value: int) -> int:
    return value + 1


@app.activity_trigger(input_name="value")
async def add_one_async(value: int) -> int:
    return value + 1


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] < 3:
        raise RuntimeError(f"attempt {_attempts[key]} failed")
    return f"succeeded after {_attempts[key]} attempts"


@app.activity_trigger(input_name="key")
def fail_first_time(key: str) -> str:
    marker = Path(os.environ.get("MARKER_DIR", ".")) / f"{key}.marker"
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError("first attempt fails")
    return "second attempt works"


@app.activity_trigger(input_name="value")
def logged(value: str) -> str:
    _log_activity("logged", value)
    time.sleep(float(os.environ.get("ACTIVITY_DELAY", "0")))  # lets a kill land mid-flight
    return value.upper()


# ----------------------------------------------------------------------------- entities


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    state = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        state += context.get_input()
        context.set_state(state)
    elif operation == "get":
        context.set_result(state)
    elif operation == "delete":
        context.destruct_on_exit()
