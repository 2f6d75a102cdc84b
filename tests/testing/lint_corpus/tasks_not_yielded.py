"""True positives: durable tasks created but never scheduled, and yielded signals."""

import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def forgets_to_yield(context: df.DurableOrchestrationContext):
    context.call_activity("send_email", "ada@example.org")  # expect: DF009
    reminder = context.create_timer(context.current_utc_datetime)  # noqa: F841  # expect: DF009
    approval = context.wait_for_external_event("approved")  # noqa: F841  # expect: DF009
    context.call_sub_orchestrator("child", 1)  # expect: DF009
    result = yield context.call_activity("finish")
    return result


@app.orchestration_trigger(context_name="context")
def yields_a_signal(context: df.DurableOrchestrationContext):
    counter = df.EntityId("counter", "k1")
    yield context.signal_entity(counter, "add", 1)  # expect: DF010
    pending = context.signal_entity(counter, "add", 2)
    yield pending  # expect: DF010
    yield context.task_all([context.signal_entity(counter, "add", 3)])  # expect: DF010
