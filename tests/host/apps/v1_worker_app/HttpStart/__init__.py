"""Start the orchestration named in the route with the JSON body as input (function.json app)."""

import azure.functions as func

import durable_functions as df


async def main(req: func.HttpRequest, starter: str) -> func.HttpResponse:
    client = df.DurableOrchestrationClient(starter)
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["functionName"], None, req.get_json() if body else None
    )
    return client.create_check_status_response(req, instance_id)
