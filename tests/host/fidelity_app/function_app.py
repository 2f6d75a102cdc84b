"""A sample app for the fidelity test: orchestrations written against the reference SDK's API.

Only the import line says ``durable_functions``. The orchestrator functions stay plain
generator functions at module level (``orchestrator`` registers them without replacing
them), so the fidelity test can hand the very same function to both SDKs' replay; the
values they build (``df.RetryOptions``, ``df.EntityId``) are ours, and the reference SDK
takes them as it takes its own.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.functions as func

import durable_functions as df

app = df.DFApp()

CITIES = ["Tokyo", "Seattle", "London"]


def orchestrator(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``fn`` as an orchestrator and keep the plain function under its name."""
    app.orchestration_trigger(context_name="context")(fn)
    return fn


# ----------------------------------------------------------------------------- orchestrators


@orchestrator
def hello_chain(context: df.DurableOrchestrationContext):
    """Function chaining: one activity after the other."""
    results = []
    for city in CITIES:
        results.append((yield context.call_activity("say_hello", city)))
    return results


@orchestrator
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    """Fan-out/fan-in: every city at once, then one more activity over all results."""
    cities = context.get_input()
    greetings = yield context.task_all([context.call_activity("say_hello", c) for c in cities])
    total = yield context.call_activity("count_letters", greetings)
    return {"greetings": greetings, "letters": total}


@orchestrator
def retry_once(context: df.DurableOrchestrationContext):
    """An activity that fails on its first attempt, retried after 100 ms."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    result = yield context.call_activity_with_retry("fails_once", options, context.instance_id)
    return result


@orchestrator
def parent_of_chain(context: df.DurableOrchestrationContext):
    """A sub-orchestration (auto-generated child id), then an activity on its result."""
    greetings = yield context.call_sub_orchestrator("hello_chain")
    last = yield context.call_activity("say_hello", greetings[-1])
    return last


@orchestrator
def durable_timer(context: df.DurableOrchestrationContext):
    """A durable timer between two activities."""
    first = yield context.call_activity("say_hello", "before")
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))
    second = yield context.call_activity("say_hello", "after")
    return [first, second]


@orchestrator
def approval(context: df.DurableOrchestrationContext):
    """Waits for an external event raised through the management API."""
    context.set_custom_status("waiting for approval")
    decision = yield context.wait_for_external_event("approval")
    context.set_custom_status("approved")
    reply = yield context.call_activity("say_hello", decision["by"])
    return {"decision": decision, "reply": reply}


@orchestrator
def entity_counter(context: df.DurableOrchestrationContext):
    """Signals an entity (fire and forget), then calls it and waits for the answer."""
    counter = df.EntityId("counter", context.instance_id)
    context.signal_entity(counter, "add", 5)
    context.signal_entity(counter, "add", 3)
    value = yield context.call_entity(counter, "get")
    return value


@orchestrator
def custom_status(context: df.DurableOrchestrationContext):
    """Sets a structured custom status in every episode."""
    context.set_custom_status({"step": 1, "of": 3})
    yield context.call_activity("say_hello", "one")
    context.set_custom_status({"step": 2, "of": 3})
    yield context.call_activity("say_hello", "two")
    context.set_custom_status({"step": 3, "of": 3, "done": True})
    return "finished"


@orchestrator
def counter_loop(context: df.DurableOrchestrationContext):
    """Eternal-orchestration style: continue as new until the counter reaches 3."""
    n = context.get_input()
    yield context.call_activity("say_hello", f"round {n}")
    if n < 3:
        context.continue_as_new(n + 1)
        return None
    return n


@orchestrator
def race(context: df.DurableOrchestrationContext):
    """task_any: an external event against a durable timer; the loser is cancelled."""
    seconds = context.get_input()
    event = context.wait_for_external_event("go")
    timeout = context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    winner = yield context.task_any([event, timeout])
    if winner is event:
        timeout.cancel()
        return {"winner": "event", "value": event.result}
    return {"winner": "timer"}


@orchestrator
def compensate(context: df.DurableOrchestrationContext):
    """Catches an activity's failure and runs a compensating activity."""
    try:
        yield context.call_activity("always_fails", "booking")
    except Exception as error:
        undo = yield context.call_activity("say_hello", "compensation")
        return {"undo": undo, "error": str(error).splitlines()[0]}
    return "unreachable"


@orchestrator
def unhandled_failure(context: df.DurableOrchestrationContext):
    """An activity's failure that nobody catches fails the orchestration."""
    yield context.call_activity("say_hello", "first")
    yield context.call_activity("always_fails", "second")
    return "unreachable"


@orchestrator
def retry_exhausted(context: df.DurableOrchestrationContext):
    """Every attempt fails: the task fails after the last retry timer, and is caught."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=2)
    try:
        yield context.call_activity_with_retry("always_fails", options, "retries")
    except Exception as error:
        return str(error).splitlines()[0]
    return "unreachable"


@orchestrator
def entity_error(context: df.DurableOrchestrationContext):
    """An entity operation that raises fails the caller's task."""
    counter = df.EntityId("counter", context.instance_id)
    try:
        yield context.call_entity(counter, "explode", "on purpose")
    except Exception as error:
        return str(error)
    return "unreachable"


@orchestrator
def http_ping(context: df.DurableOrchestrationContext):
    """A durable HTTP call (to this app's own HTTP function)."""
    response = yield context.call_http("GET", context.get_input())
    return {"status": response["statusCode"], "content": response["content"]}


@orchestrator
def early_event(context: df.DurableOrchestrationContext):
    """An event raised while a timer runs, before anyone waits for it: it is buffered."""
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))
    value = yield context.wait_for_external_event("early")
    return value


@orchestrator
def clock_and_ids(context: df.DurableOrchestrationContext):
    """Deterministic time and ids, taken from the recorded history in every replay."""
    seen = []
    for step in range(2):
        stamp = f"{context.current_utc_datetime.isoformat()} {context.new_uuid()}"
        seen.append((yield context.call_activity("say_hello", f"{step} {stamp}")))
    return seen


@orchestrator
def sub_fan_out(context: df.DurableOrchestrationContext):
    """Sub-orchestrations in parallel: two with generated ids, one with an id of our own."""
    children = [
        context.call_sub_orchestrator("hello_chain"),
        context.call_sub_orchestrator("fan_out_fan_in", ["Oslo", "Lima"]),
        context.call_sub_orchestrator("hello_chain", None, f"{context.instance_id}-named"),
    ]
    results = yield context.task_all(children)
    return results


@orchestrator
def timers(context: df.DurableOrchestrationContext):
    """Timers in parallel, one of them already due."""
    now = context.current_utc_datetime
    yield context.task_all(
        [
            context.create_timer(now + timedelta(milliseconds=300)),
            context.create_timer(now - timedelta(seconds=5)),
        ]
    )
    return (context.current_utc_datetime - now).total_seconds() > 0


@orchestrator
def carry_over(context: df.DurableOrchestrationContext):
    """An event nobody waited for in the first execution is read by the next one."""
    if context.get_input() == 0:
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))
        context.continue_as_new(1)
        return None
    bonus = yield context.wait_for_external_event("bonus")
    return bonus


@orchestrator
def odd_values(context: df.DurableOrchestrationContext):
    """Results that are falsy, nested or not ASCII travel through the history unchanged."""
    values = yield context.task_all([context.call_activity("echo", v) for v in ODD_VALUES])
    context.set_custom_status(values[-1])
    return values


ODD_VALUES: list[Any] = [None, "", 0, False, [], {}, "héllo ✓ 東京", {"a": [1, 2.5, None]}]


@orchestrator
def concurrent_retries(context: df.DurableOrchestrationContext):
    """Two retried activities fail at once; their retry timers are numbered in order."""
    fast = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    slow = df.RetryOptions(first_retry_interval_in_milliseconds=600, max_number_of_attempts=3)
    key = context.instance_id
    results = yield context.task_all(
        [
            context.call_activity_with_retry("fails_once", fast, f"{key}-a"),
            context.call_activity_with_retry("fails_once_too", slow, f"{key}-b"),
            context.call_activity("say_hello", "bystander"),
        ]
    )
    return results


@orchestrator
def entity_and_activity(context: df.DurableOrchestrationContext):
    """An entity call and an activity awaited together."""
    counter = df.EntityId("counter", context.instance_id)
    context.signal_entity(counter, "add", 7)
    value, greeting = yield context.task_all(
        [context.call_entity(counter, "get"), context.call_activity("say_hello", "entity")]
    )
    return {"value": value, "greeting": greeting}


@orchestrator
def flaky_child(context: df.DurableOrchestrationContext):
    """Fails the first time it runs for a key, as its activity does."""
    result = yield context.call_activity("fails_once", context.get_input())
    return result


@orchestrator
def sub_orchestration_retry(context: df.DurableOrchestrationContext):
    """A sub-orchestration that fails once, retried (the retry is a new child instance)."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    key = f"{context.instance_id}-child"
    result = yield context.call_sub_orchestrator_with_retry("flaky_child", options, key)
    return result


@orchestrator
def rewound(context: df.DurableOrchestrationContext):
    """Fails on its second activity's first run; a rewind runs that activity again."""
    first = yield context.call_activity("say_hello", "before the failure")
    second = yield context.call_activity("fails_once", context.instance_id)
    return [first, second]


@orchestrator
def introspect(context: df.DurableOrchestrationContext):
    """What the context tells a sub-orchestration, replay flags included, as its output."""
    flags = [context.is_replaying]
    yield context.call_activity("say_hello", "one")
    flags.append(context.is_replaying)
    yield context.create_timer(context.current_utc_datetime)
    flags.append(context.is_replaying)
    context.set_custom_status(0)  # falsy: not sent, so the status is cleared
    return {
        "instance": context.instance_id,
        "parent": context.parent_instance_id,
        "input": context.get_input(),
        "version": context.version,
        "replaying": flags,
    }


@orchestrator
def introspect_parent(context: df.DurableOrchestrationContext):
    context.set_custom_status("calling the child")
    child = yield context.call_sub_orchestrator("introspect", {"from": "parent"})
    return child


@orchestrator
def two_waits(context: df.DurableOrchestrationContext):
    """Two waits for one event name at the same time, each served by one event."""
    first, second = yield context.task_all(
        [context.wait_for_external_event("x"), context.wait_for_external_event("x")]
    )
    return [first, second]


# ----------------------------------------------------------------------------- recorders

PAYLOADS = Path("payloads")


def recorded(fn: Callable[..., Any]) -> None:
    """Register ``recorded_<name>``: ``fn`` behind a plain trigger that keeps every payload.

    The function receives the worker's ``OrchestrationContext`` and appends its body (the
    payload the host sent) to ``payloads/<instance id>.jsonl`` in the app folder, so a test
    can compare it with the payload it rebuilds from the recorded history.
    """
    handler = df.Orchestrator.create(fn)

    def record(context: func.OrchestrationContext) -> str:
        instance_id = json.loads(context.body)["instanceId"]
        PAYLOADS.mkdir(exist_ok=True)
        with open(PAYLOADS / f"{instance_id}.jsonl", "a", encoding="utf-8") as out:
            out.write(context.body + "\n")
        return handler(context)

    app.function_name(f"recorded_{fn.__name__}")(
        app.generic_trigger(arg_name="context", type="orchestrationTrigger")(record)
    )


for _fn in (
    hello_chain,
    retry_once,
    entity_counter,
    approval,
    parent_of_chain,
    counter_loop,
    carry_over,
):
    recorded(_fn)


# ----------------------------------------------------------------------------- HTTP


@app.route(route="ping", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong", headers={"X-Sample": "fidelity"})


# ----------------------------------------------------------------------------- activities


@app.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


@app.activity_trigger(input_name="greetings")
def count_letters(greetings: list) -> int:  # the worker refuses list[str] (compatibility.md)
    return sum(sum(ch.isalpha() for ch in g) for g in greetings)


def _fail_once(key: str) -> str:
    """Fails the first time it sees ``key`` (a marker file in the app folder remembers)."""
    marker = Path(f"{key.replace(':', '_')}.failed-once")
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError(f"first attempt for {key} fails")
    return f"{key} succeeded on a retry"


@app.activity_trigger(input_name="key")
def fails_once(key: str) -> str:
    return _fail_once(key)


@app.activity_trigger(input_name="key")
def fails_once_too(key: str) -> str:
    """The same, under another name (two retried activities are told apart by name)."""
    return _fail_once(key)


@app.activity_trigger(input_name="what")
def always_fails(what: str) -> str:
    raise ValueError(f"cannot do {what}")


@app.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


# ----------------------------------------------------------------------------- entities


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext):
    state = context.get_state(lambda: 0)
    if context.operation_name == "add":
        context.set_state(state + context.get_input())
    elif context.operation_name == "get":
        context.set_result(state)
    elif context.operation_name == "explode":
        raise ValueError(f"counter exploded: {context.get_input()}")
