"""Orchestrations: durable workflows written as generator functions or ``async def``.

Orchestrator code is replayed from its history, so it must be deterministic:
no I/O, no ``datetime.now()``, no random numbers. Use activities for work,
``context.current_utc_datetime`` for time and durable timers for waiting.
A generator ``yield``s the tasks of the context; an ``async def`` orchestrator
(``greet_and_sum``) ``await``s the very same tasks.
"""

from datetime import timedelta

import durable_functions as df

bp = df.Blueprint()

CITIES = ["Tokyo", "Seattle", "London"]
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)


@bp.orchestration_trigger(context_name="context")
def hello_chain(context: df.DurableOrchestrationContext):
    """Function chaining: call activities one after another, each result in order."""
    greetings = []
    for city in context.get_input() or CITIES:
        greeting = yield context.call_activity("say_hello", city)
        greetings.append(greeting)
    return greetings


@bp.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    """Fan-out/fan-in: run activities in parallel (retrying failures), then aggregate."""
    numbers = context.get_input() or [1, 2, 3, 4, 5]
    tasks = [context.call_activity_with_retry("square", RETRY, n) for n in numbers]
    squares = yield context.task_all(tasks)
    return {"squares": squares, "sum": sum(squares)}


@bp.orchestration_trigger(context_name="context")
async def greet_and_sum(context: df.DurableOrchestrationContext):
    """The async way: chaining, then fan-out/fan-in, awaiting the tasks instead of yielding.

    Input: ``{"cities": [str, ...], "numbers": [number, ...]}`` (each optional). Await
    only tasks from the context: ``asyncio.sleep``, ``asyncio.gather`` or an HTTP client
    fail the orchestration; use ``context.create_timer``, ``context.task_all``/``task_any``
    and activities instead.
    """
    settings = context.get_input() or {}
    greetings = []
    for city in settings.get("cities", CITIES):
        greetings.append(await context.call_activity("say_hello", city))
    numbers = settings.get("numbers", [1, 2, 3])
    tasks = [context.call_activity_with_retry("square", RETRY, n) for n in numbers]
    squares = await context.task_all(tasks)
    return {"greetings": greetings, "sum": sum(squares)}


@bp.orchestration_trigger(context_name="context")
def approval_workflow(context: df.DurableOrchestrationContext):
    """Human interaction: wait for an "Approval" event, or give up when a durable timer fires.

    Input: ``{"timeout_seconds": <int>}`` (default 24 hours). Raise the event
    with ``true`` to approve or ``false`` to reject. The custom status says
    "Waiting for approval" until then, and the outcome afterwards.
    """
    settings = context.get_input() or {}
    deadline = context.current_utc_datetime + timedelta(
        seconds=settings.get("timeout_seconds", 24 * 60 * 60)
    )
    timeout = context.create_timer(deadline)
    approval = context.wait_for_external_event("Approval")
    context.set_custom_status("Waiting for approval")
    winner = yield context.task_any([approval, timeout])
    if winner == approval:
        timeout.cancel()
        outcome = "approved" if approval.result else "rejected"
    else:
        outcome = "timed out"
    context.set_custom_status(outcome.capitalize())
    return outcome


@bp.orchestration_trigger(context_name="context")
def job_monitor(context: df.DurableOrchestrationContext):
    """Eternal monitor: check a job, sleep on a durable timer, restart with continue_as_new.

    continue_as_new keeps the history small however long the monitor runs.
    Input: ``{"job_id": str, "interval_seconds": int, "ready_after": int, "checks": int}``.
    """
    job = dict(context.get_input() or {})
    job.setdefault("job_id", "job-1")
    job["checks"] = job.get("checks", 0) + 1
    state = yield context.call_activity("check_job", job)
    context.set_custom_status({"job_id": job["job_id"], "checks": job["checks"], "state": state})
    if state == "done":
        return {"job_id": job["job_id"], "state": state, "checks": job["checks"]}
    next_check = context.current_utc_datetime + timedelta(seconds=job.get("interval_seconds", 60))
    yield context.create_timer(next_check)
    context.continue_as_new(job)
    return None
{%- if cookiecutter.include_entity %}


@bp.orchestration_trigger(context_name="context")
def counter_workflow(context: df.DurableOrchestrationContext):
    """Entities from an orchestration: signal (one-way) then call (two-way) a counter.

    Input: ``{"key": str, "amount": int}``; returns the counter's new value.
    """
    settings = context.get_input() or {}
    counter = df.EntityId("counter", settings.get("key", "demo"))
    context.signal_entity(counter, "add", settings.get("amount", 1))
    value = yield context.call_entity(counter, "get")
    return value
{%- endif %}
