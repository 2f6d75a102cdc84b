"""An orchestrator comparing an activity's text result with text, as human_interaction does."""

import durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    code = yield context.call_activity("Code", 4)
    return [code, code == "9361"]


main = df.Orchestrator.create(orchestrator_function)
