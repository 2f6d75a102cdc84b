"""A starter with the Durable 1.x client binding name, answering through a named http output."""

import azure.functions as func

import durable_functions as df


async def main(req: func.HttpRequest, starter: str, message: func.Out[func.HttpResponse]):
    client = df.DurableOrchestrationClient(starter)
    instance_id = await client.start_new(req.route_params["functionName"])
    message.set(client.create_check_status_response(req, instance_id))
