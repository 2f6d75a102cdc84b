"""True positives: async code in orchestrators (mixed with generator code, or not durable)."""

import asyncio

import httpx

import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
async def async_generator_orchestrator(context: df.DurableOrchestrationContext):
    yield context.call_activity("work")  # expect: DF008
    await asyncio.sleep(1)  # expect: DF007


@app.orchestration_trigger(context_name="context")
def awaits_in_generator(context: df.DurableOrchestrationContext):
    result = await context.call_activity("work")  # expect: DF008
    yield context.call_activity("more", result)


@app.orchestration_trigger(context_name="context")
async def awaits_the_event_loop(context: df.DurableOrchestrationContext):
    first = context.call_activity("a")
    second = context.call_activity("b")
    both = await asyncio.gather(first, second)  # expect: DF011
    await asyncio.wait_for(context.call_activity("c"), 5)  # expect: DF011
    context.call_activity("forgotten")  # expect: DF009
    await context.signal_entity(df.EntityId("counter", "k"), "add", 1)  # expect: DF010
    return await fetch(context, both)


async def fetch(context, urls):
    async with httpx.AsyncClient() as client:  # expect: DF006
        page = await client.get(urls[0])  # expect: DF011
    session = httpx.AsyncClient()  # expect: DF006
    return [page.text, (await session.get(urls[1])).text]  # expect: DF011
