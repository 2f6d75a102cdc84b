"""The ``async def`` orchestrator of the async-orchestrators issue: every kind of await in one
function. The SDK's replay tests run it as it is; the harness tests register it on a
Blueprint (the host's ``async_app`` keeps its own copy: an app folder stands alone)."""

from datetime import timedelta

import durable_functions as df


async def process_order(context: df.DurableOrchestrationContext):
    order = context.get_input()
    await context.call_activity("reserve", order)
    results = await context.task_all(
        [context.call_activity("charge", p) for p in order["payments"]]
    )
    winner = await context.task_any(
        [
            context.wait_for_external_event("cancel"),
            context.create_timer(context.current_utc_datetime + timedelta(hours=1)),
        ]
    )
    summary = await context.call_sub_orchestrator("ship", order)
    return {"results": results, "summary": summary, "cancelled": winner.result}
