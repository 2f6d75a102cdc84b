import durable_functions as df


def chain(context: df.DurableOrchestrationContext):
    data = context.get_input()
    greeting = yield context.call_activity("Greet", data["name"])
    doubled = yield context.call_activity("Double", data["value"])
    tally = df.EntityId("Tally", data["name"])
    context.signal_entity(tally, "add", doubled)
    total = yield context.call_entity(tally, "get")
    child_version = yield context.call_sub_orchestrator("Version")
    return {
        "greeting": greeting,
        "doubled": doubled,
        "total": total,
        "version": context.version,
        "child_version": child_version,
    }


main = df.Orchestrator.create(chain)
