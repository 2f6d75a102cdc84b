import azure.functions as func

import durable_functions as df


async def main(req: func.HttpRequest, client: str, response: func.Out[func.HttpResponse]) -> None:
    durable = df.DurableOrchestrationClient(client)
    data = {"name": req.route_params["name"], "value": int(req.route_params.get("value") or 1)}
    instance_id = await durable.start_new("Chain", client_input=data)
    answer = durable.create_check_status_response(req, instance_id)
    answer.headers["X-Chain"] = instance_id
    response.set(answer)
