"""True positives: async code in orchestrators."""

import asyncio

import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
async def async_orchestrator(context: df.DurableOrchestrationContext):  # expect: DF008
    yield context.call_activity("work")
    await asyncio.sleep(1)  # expect: DF007


@app.orchestration_trigger(context_name="context")
def awaits_in_generator(context: df.DurableOrchestrationContext):
    result = await context.call_activity("work")  # expect: DF008
    yield context.call_activity("more", result)
