"""A sample app written for Microsoft's azure-functions-durable, run unchanged by the local host."""

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["name"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="hello/{name?}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name") or "world"
    return func.HttpResponse(f"hello {name}", headers={"X-Sample": "yes"})


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    value = context.get_input()
    a = yield context.call_activity("add_one", value)
    b = yield context.call_activity("add_one", a)
    return b


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("add_one", i) for i in range(count)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def counter_calls(context: df.DurableOrchestrationContext):
    entity = df.EntityId("counter", "k")
    context.signal_entity(entity, "add", 5)
    value = yield context.call_entity(entity, "get")
    return value


@app.activity_trigger(input_name="value")
def add_one(value: int) -> int:
    return value + 1


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    state = context.get_state(lambda: 0)
    if context.operation_name == "add":
        state += context.get_input()
        context.set_state(state)
    elif context.operation_name == "get":
        context.set_result(state)
