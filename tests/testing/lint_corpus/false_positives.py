"""Replay-safe code that must produce no findings."""

import datetime
import os
import random
import time
import uuid
from datetime import timedelta

import azure.functions as func

import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def replay_safe(context: df.DurableOrchestrationContext):
    now = context.current_utc_datetime
    yield context.create_timer(now + timedelta(days=7))
    order_id = context.new_uuid()
    stable = uuid.uuid5(uuid.NAMESPACE_URL, context.instance_id)
    seeded = random.Random(context.instance_id).randint(1, 6)
    path = os.path.join("orders", order_id)
    parsed = datetime.datetime.fromisoformat("2024-01-01T00:00:00+00:00")
    tasks = [context.call_activity("ship", item) for item in range(3)]
    results = yield context.task_all(tasks)
    first = context.call_activity("a")
    second = context.call_activity("b")
    winner = yield context.task_any([first, second])
    timeout = context.create_timer(now + timedelta(hours=1))
    approval = context.wait_for_external_event("approved")
    decided = yield context.task_any([approval, timeout])
    if decided == approval:
        timeout.cancel()
    context.signal_entity(df.EntityId("counter", "k1"), "add", 1)
    context.set_custom_status({"step": "done"})
    batch = []
    batch.append(context.call_activity("c"))
    yield context.task_all(batch)
    return [str(stable), seeded, path, str(parsed), results, winner.result]


@app.orchestration_trigger(context_name="context")
def continues(context: df.DurableOrchestrationContext):
    count = context.get_input() or 0
    yield context.call_activity("tick", count)
    context.continue_as_new(count + 1)


@app.activity_trigger(input_name="name")
def activity_may_do_anything(name: str) -> str:
    with open(os.environ.get("GREETING_FILE", "greeting.txt")) as handle:
        greeting = handle.read()
    time.sleep(0.1)
    return f"{greeting} {name} at {datetime.datetime.now()} #{random.randint(1, 9)} {uuid.uuid4()}"


@app.route(route="start")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    instance_id = await client.start_new("replay_safe", None, {"at": time.time()})
    return client.create_check_status_response(req, instance_id)


def untouched_helper():
    return datetime.datetime.now()


@app.orchestration_trigger(context_name="context")
async def awaits_durable_tasks(context: df.DurableOrchestrationContext):
    order = context.get_input()
    await context.call_activity("reserve", order)
    charges = [context.call_activity("charge", p) for p in order["payments"]]
    results = await context.task_all(charges)
    timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    winner = await context.task_any([context.wait_for_external_event("cancel"), timeout])
    if not timeout.is_completed:
        timeout.cancel()
    summary = await ship(context, order)
    context.signal_entity(df.EntityId("counter", "k1"), "add", 1)
    return {"results": results, "winner": winner.result, "summary": summary}


async def ship(context: df.DurableOrchestrationContext, order):
    return await context.call_sub_orchestrator("ship", order)
