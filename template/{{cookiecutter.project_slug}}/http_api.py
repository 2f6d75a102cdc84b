"""HTTP API: start orchestrations and return the check-status response.

``POST /api/orchestrators/{name}`` starts one of ``STARTABLE`` with the JSON
body (if any) as input and answers 202 with the status URLs, or 400 when the
body is not the input that orchestration takes (see ``INPUTS``).
{%- if cookiecutter.include_entity %}
``GET /api/counters/{key}`` reads a counter; ``POST /api/counters/{key}/add``
signals it.
{%- endif %}
"""

import json
from collections.abc import Callable

import azure.functions as func
import durable_functions as df

bp = df.Blueprint()

AUTH_LEVEL = func.AuthLevel.{{ cookiecutter.http_auth_level.upper() }}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _list_of(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, list) and all(check(item) for item in value)


def _object_of(**fields: Callable[[object], bool]) -> Callable[[object], bool]:
    """A JSON object holding only these keys (each optional), each value passing its check."""
    return lambda value: (
        isinstance(value, dict)
        and all(key in fields and fields[key](item) for key, item in value.items())
    )


def _text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _positive_int(value: object) -> bool:
    return _is_int(value) and value > 0


def _count(value: object) -> bool:
    return _is_int(value) and value >= 0


# The orchestrations that can be started over HTTP, with the input each accepts (an empty body
# or null starts it with its defaults) and how to say so when a request sends something else.
INPUTS: dict[str, tuple[Callable[[object], bool], str]] = {
    "hello_chain": (_list_of(_text), 'a JSON list of city names, e.g. ["Tokyo", "Seattle"]'),
    "fan_out_fan_in": (_list_of(_is_number), "a JSON list of numbers, e.g. [1, 2, 3]"),
    "greet_and_sum": (
        _object_of(cities=_list_of(_text), numbers=_list_of(_is_number)),
        'a JSON object like {"cities": ["Tokyo"], "numbers": [1, 2, 3]}',
    ),
    "approval_workflow": (
        _object_of(timeout_seconds=_positive_int),
        'a JSON object like {"timeout_seconds": 300}',
    ),
    "job_monitor": (
        _object_of(job_id=_text, interval_seconds=_positive_int, ready_after=_count, checks=_count),
        'a JSON object like {"job_id": "job-1", "interval_seconds": 60, "ready_after": 3}',
    ),
{%- if cookiecutter.include_entity %}
    "counter_workflow": (
        _object_of(key=_text, amount=_is_int),
        'a JSON object like {"key": "demo", "amount": 5}',
    ),
{%- endif %}
}
STARTABLE = frozenset(INPUTS)


def input_problem(name: str, payload: object) -> str | None:
    """Why ``payload`` is not a valid input for ``name``, or None when it is."""
    check, shape = INPUTS[name]
    if payload is None or check(payload):
        return None
    return f"{name} takes {shape}; got {json.dumps(payload)[:200]}"


def _error(status: int, message: str) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"error": message}), status_code=status, mimetype="application/json"
    )


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _json_body(req: func.HttpRequest) -> object:
    """The request's JSON body, or None when it is empty.

    Raises ValueError on anything that is not JSON by the RFC: bad syntax, NaN and
    Infinity (which Python would accept), or nesting too deep to parse.
    """
    body = req.get_body()
    if not body:
        return None
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("the JSON body is nested too deeply") from None


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
    problem = input_problem(name, payload)
    if problem:
        return _error(400, problem)
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
