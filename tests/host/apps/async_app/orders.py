"""The issue's example, on a Blueprint: every kind of await in one ``async def`` orchestrator."""

from datetime import timedelta

import durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
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


@bp.orchestration_trigger(context_name="context")
async def ship(context: df.DurableOrchestrationContext):
    order = context.get_input()
    return f"shipped {len(order['payments'])} payments"


@bp.activity_trigger(input_name="order")
def reserve(order: dict) -> str:
    return "reserved"


@bp.activity_trigger(input_name="amount")
def charge(amount: int) -> int:
    return amount * 100
