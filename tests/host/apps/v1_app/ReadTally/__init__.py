import json

import azure.functions as func

import durable_functions as df


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    state = await client.read_entity_state(df.EntityId("Tally", req.route_params["name"]))
    if not state.entity_exists:
        return func.HttpResponse("no such tally", status_code=404)
    return func.HttpResponse(json.dumps(state.entity_state), mimetype="application/json")
