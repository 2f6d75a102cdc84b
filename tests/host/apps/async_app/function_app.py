"""A sample app whose orchestrators are ``async def`` (the host's async e2e tests).

``orders.py`` holds more of them on a ``Blueprint``, registered here.
"""

import asyncio
import json
import os
import time

import azure.functions as func
from orders import bp

import durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.route(route="hello", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hello from the app")


@app.orchestration_trigger(context_name="context")
async def logged_chain_async(context: df.DurableOrchestrationContext):
    """``"key:n"``: n logged activities one after another (the crash test)."""
    key, _, count = context.get_input().rpartition(":")
    return [await context.call_activity("logged", f"{key}:{i}") for i in range(int(count))]


@app.orchestration_trigger(context_name="context")
async def everything(context: df.DurableOrchestrationContext):
    """One of each: retries, an entity call, an HTTP call, a timer, status, ids, and a loop."""
    data = context.get_input()
    context.set_custom_status({"generation": data["generation"]})
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3)
    flaky = await context.call_activity_with_retry("flaky", options, context.instance_id)
    entity = df.EntityId("counter", context.instance_id)
    context.signal_entity(entity, "add", 5)
    count = await context.call_entity(entity, "get")
    response = await context.call_http("GET", data["url"])
    await context.create_timer(context.current_utc_datetime)
    if data["generation"] < 1:
        context.continue_as_new({**data, "generation": data["generation"] + 1})
        return None
    return {
        "flaky": flaky,
        "count": count,
        "http": [response["statusCode"], response["content"]],
        "uuid": len(context.new_uuid()),
    }


@app.orchestration_trigger(context_name="context")
async def sleeps(context: df.DurableOrchestrationContext):
    await context.call_activity("add_one", 1)
    await asyncio.sleep(1)  # durable: ignore[DF007]


@app.activity_trigger(input_name="value")
def add_one(value: int) -> int:
    return value + 1


_attempts: dict[str, int] = {}


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] < 2:
        raise RuntimeError(f"attempt {_attempts[key]} failed")
    return f"succeeded after {_attempts[key]} attempts"


@app.activity_trigger(input_name="value")
def logged(value: str) -> str:
    path = os.environ.get("ACTIVITY_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(["logged", value, os.getpid(), time.time()]) + "\n")
    time.sleep(float(os.environ.get("ACTIVITY_DELAY", "0")))  # lets a kill land mid-flight
    return value.upper()


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    state = context.get_state(lambda: 0)
    if context.operation_name == "add":
        context.set_state(state + context.get_input())
    elif context.operation_name == "get":
        context.set_result(state)
