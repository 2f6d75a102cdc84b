import durable_functions as df


def version(context: df.DurableOrchestrationContext):
    return context.version
    yield  # a generator, as orchestrators are


main = df.Orchestrator.create(version)
