"""HTTP API: start orchestrations and return the check-status response.

``POST /api/orchestrators/{name}`` starts one of ``STARTABLE`` with the JSON
body (if any) as input and answers 202 with the status URLs.
{%- if cookiecutter.include_entity %}
``GET /api/counters/{key}`` reads a counter; ``POST /api/counters/{key}/add``
signals it.
{%- endif %}
"""

import json

import azure.functions as func
import durable_functions as df

bp = df.Blueprint()

AUTH_LEVEL = func.AuthLevel.{{ cookiecutter.http_auth_level.upper() }}

# Only these orchestrations can be started over HTTP.
STARTABLE = frozenset(
    {
        "hello_chain",
        "fan_out_fan_in",
        "approval_workflow",
        "job_monitor",
{%- if cookiecutter.include_entity %}
        "counter_workflow",
{%- endif %}
    }
)


def _error(status: int, message: str) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"error": message}), status_code=status, mimetype="application/json"
    )


def _json_body(req: func.HttpRequest) -> object:
    """The request's JSON body, or None when it is empty. Raises ValueError on bad JSON."""
    body = req.get_body()
    return json.loads(body) if body else None


@bp.route(route="orchestrators/{functionName}", methods=["POST"], auth_level=AUTH_LEVEL)
@bp.durable_client_input(client_name="client")
async def start_orchestration(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Start a known orchestration; the JSON body becomes its input."""
    name = req.route_params.get("functionName", "")
    if name not in STARTABLE:
        return _error(404, f"unknown orchestration {name!r}; startable: {sorted(STARTABLE)}")
    try:
        payload = _json_body(req)
    except ValueError:
        return _error(400, "the request body must be JSON")
    instance_id = await client.start_new(name, client_input=payload)
    return client.create_check_status_response(req, instance_id)
{%- if cookiecutter.include_entity %}


@bp.route(route="counters/{key}", methods=["GET"], auth_level=AUTH_LEVEL)
@bp.durable_client_input(client_name="client")
async def read_counter(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Read a counter's value (404 until it has been signalled once)."""
    entity = df.EntityId("counter", req.route_params["key"])
    state = await client.read_entity_state(entity)
    if not state.entity_exists:
        return _error(404, f"counter {entity.key!r} does not exist yet")
    return func.HttpResponse(
        json.dumps({"key": entity.key, "value": state.entity_state}),
        mimetype="application/json",
    )


@bp.route(route="counters/{key}/add", methods=["POST"], auth_level=AUTH_LEVEL)
@bp.durable_client_input(client_name="client")
async def add_to_counter(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Signal a counter to add the JSON body's number (1 when empty); answers 202."""
    try:
        amount = _json_body(req)
    except ValueError:
        return _error(400, "the request body must be a JSON number")
    if amount is None:
        amount = 1
    if not isinstance(amount, int) or isinstance(amount, bool):
        return _error(400, "the request body must be a JSON integer")
    await client.signal_entity(df.EntityId("counter", req.route_params["key"]), "add", amount)
    return func.HttpResponse(status_code=202)
{%- endif %}
