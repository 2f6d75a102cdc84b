"""An orchestrator: three greetings in sequence, with a custom status (function.json app)."""

import durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity("Hello", city)))
        context.set_custom_status(len(results))
    return results


main = df.Orchestrator.create(orchestrator_function)
