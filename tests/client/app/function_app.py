"""The app the client tests run on the local host: one function per behaviour under test."""

import json

import azure.functions as func

import durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["name"], None, body.decode() or None)
    return client.create_check_status_response(req, instance_id)


@app.route(route="wait/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start_and_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    instance_id = await client.start_new(req.route_params["name"])
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=20000, retry_interval_in_milliseconds=50
    )


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    results = []
    for city in ("Tokyo", "Seattle", "London"):
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    return {"input": context.get_input()}


@app.orchestration_trigger(context_name="context")
def wait_for_event(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    value = yield context.wait_for_external_event("approval")
    return {"received": value, "type": type(value).__name__}


@app.orchestration_trigger(context_name="context")
def fail_once(context: df.DurableOrchestrationContext):
    yield context.call_activity("fail_first_time", context.instance_id)
    return "recovered"


@app.orchestration_trigger(context_name="context")
def always_fails(context: df.DurableOrchestrationContext):
    raise ValueError("this orchestration always fails")
    yield  # a generator orchestrator


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


_failed: set[str] = set()


@app.activity_trigger(input_name="key")
def fail_first_time(key: str) -> str:
    # Fails on the first call per instance (per host process), succeeds after a rewind.
    if key not in _failed:
        _failed.add(key)
        raise RuntimeError("first attempt fails")
    return "ok"


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    state = context.get_state(lambda: 0)
    if context.operation_name == "add":
        state += context.get_input()
        context.set_state(state)
    elif context.operation_name == "reset":
        context.set_state(0)
    elif context.operation_name == "get":
        context.set_result(state)


@app.route(route="binding", methods=["GET"])
@app.durable_client_input(client_name="client")
async def binding(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    # Hands the tests the durableClient binding exactly as the host gave it.
    bindings = client._orchestration_bindings
    payload = {
        "taskHubName": bindings.task_hub_name,
        "creationUrls": bindings.creation_urls,
        "managementUrls": bindings.management_urls,
        "rpcBaseUrl": bindings.rpc_base_url,
    }
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")
