"""An orchestrator: signal the counter, then read it."""

import durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    entity = df.EntityId("Counter", context.get_input())
    context.signal_entity(entity, "add", 3)
    return (yield context.call_entity(entity, "get"))


main = df.Orchestrator.create(orchestrator_function)
