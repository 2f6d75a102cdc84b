"""Random orchestrator programs that run unchanged on either SDK.

A program is plain data (frozen dataclasses). `build_orchestrator(program, sdk)` turns it into a
generator function written only against the public context API, so the very same code drives
`azure.durable_functions` and `durable_functions`. Whatever the program observes (task values,
failures, the clock, replay flag, GUIDs) goes into a log that becomes the orchestration output,
so any divergence between the SDKs shows up in the OrchestratorState JSON.

Programs deliberately avoid the behaviours listed in docs/compatibility.md as deliberate
differences (see the comments at each generator below).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

Json = Any

# Timers up to this many seconds are short under every host profile (the Azure Storage maximum
# short timer is 6 days), so they can be cancelled: cancelling a long timer is a wire no-op in the
# reference (protocol §5.11) and not something programs should rely on.
SHORT_TIMER_LIMIT = 5 * 24 * 3600


@dataclass(frozen=True)
class Activity:
    name: str
    input: Json


@dataclass(frozen=True)
class RetryActivity:
    name: str
    input: Json
    first_retry_ms: int
    max_attempts: int


@dataclass(frozen=True)
class SubOrchestration:
    name: str
    input: Json
    instance_id: str | None


@dataclass(frozen=True)
class RetrySubOrchestration:
    name: str
    input: Json
    instance_id: str | None
    first_retry_ms: int
    max_attempts: int


@dataclass(frozen=True)
class Timer:
    seconds: int


@dataclass(frozen=True)
class WaitEvent:
    name: str


@dataclass(frozen=True)
class CallEntity:
    entity: str
    key: str
    operation: str
    input: Json


@dataclass(frozen=True)
class AllOf:
    children: tuple[TaskExpr, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[TaskExpr, ...]
    cancel_pending_timers: bool
    await_all_afterwards: bool


TaskExpr = (
    Activity
    | RetryActivity
    | SubOrchestration
    | RetrySubOrchestration
    | Timer
    | WaitEvent
    | CallEntity
    | AllOf
    | AnyOf
)


@dataclass(frozen=True)
class Await:
    expr: TaskExpr


@dataclass(frozen=True)
class Signal:
    entity: str
    key: str
    operation: str
    input: Json


@dataclass(frozen=True)
class SetStatus:
    value: Json


@dataclass(frozen=True)
class Observe:
    what: str  # one of OBSERVATIONS


@dataclass(frozen=True)
class Fail:
    message: str


Step = Await | Signal | SetStatus | Observe | Fail

OBSERVATIONS = ("clock", "replaying", "uuid", "guid", "instance", "parent", "input")


@dataclass(frozen=True)
class Program:
    steps: tuple[Step, ...]
    generations: int = 0  # how many times the program continues as new before finishing
    return_log: bool = True
    input: Json = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Interpreter


def describe(value: Any) -> Json:
    """Make an observed value JSON-able and SDK-neutral.

    Exceptions become their text (the reference raises bare `Exception`, we raise
    `TaskFailedError`; compatibility.md "TaskFailedError": only the message is the contract), task
    objects (what `task_any` returns) become their own described result.
    """
    if isinstance(value, BaseException):
        return {"error": str(value)}
    if isinstance(value, list):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "result") and hasattr(value, "is_completed"):
        return {"task": describe(value.result)}
    return repr(type(value))  # pragma: no cover - would show up as a mismatch


@dataclass
class _Built:
    task: Any
    expr: TaskExpr
    children: list[_Built]


def _build(expr: TaskExpr, ctx: Any, sdk: Any) -> _Built:
    if isinstance(expr, Activity):
        return _Built(ctx.call_activity(expr.name, expr.input), expr, [])
    if isinstance(expr, RetryActivity):
        options = sdk.RetryOptions(expr.first_retry_ms, expr.max_attempts)
        return _Built(ctx.call_activity_with_retry(expr.name, options, expr.input), expr, [])
    if isinstance(expr, SubOrchestration):
        task = ctx.call_sub_orchestrator(expr.name, expr.input, expr.instance_id)
        return _Built(task, expr, [])
    if isinstance(expr, RetrySubOrchestration):
        options = sdk.RetryOptions(expr.first_retry_ms, expr.max_attempts)
        task = ctx.call_sub_orchestrator_with_retry(
            expr.name, options, expr.input, expr.instance_id
        )
        return _Built(task, expr, [])
    if isinstance(expr, Timer):
        # Always an aware datetime: naive fire_at is a documented difference
        # (compatibility.md, naive fire_at treated as UTC).
        fire_at = ctx.current_utc_datetime + dt.timedelta(seconds=expr.seconds)
        return _Built(ctx.create_timer(fire_at), expr, [])
    if isinstance(expr, WaitEvent):
        return _Built(ctx.wait_for_external_event(expr.name), expr, [])
    if isinstance(expr, CallEntity):
        entity_id = sdk.EntityId(expr.entity, expr.key)
        return _Built(ctx.call_entity(entity_id, expr.operation, expr.input), expr, [])
    if isinstance(expr, AllOf):
        children = [_build(c, ctx, sdk) for c in expr.children]
        return _Built(ctx.task_all([c.task for c in children]), expr, children)
    children = [_build(c, ctx, sdk) for c in expr.children]
    return _Built(ctx.task_any([c.task for c in children]), expr, children)


def _run_await(expr: TaskExpr, ctx: Any, sdk: Any, log: list[Json]) -> Generator[Any, Any, None]:
    built = _build(expr, ctx, sdk)
    try:
        value = yield built.task
    except Exception as exc:
        log.append(["failed", describe(exc)])
        return
    if _after_await(expr, built, value, log):
        # Yields children that are already scheduled: nothing is re-sent, completed ones resume
        # at once (protocol §5.2).
        try:
            rest = yield ctx.task_all([c.task for c in built.children])
        except Exception as exc:
            log.append(["rest-failed", describe(exc)])
        else:
            log.append(["rest", describe(rest)])


async def _run_await_async(expr: TaskExpr, ctx: Any, sdk: Any, log: list[Json]) -> None:
    """`_run_await` written with `await`: the async twin must log and send the same."""
    built = _build(expr, ctx, sdk)
    try:
        value = await built.task
    except Exception as exc:
        log.append(["failed", describe(exc)])
        return
    if _after_await(expr, built, value, log):
        try:
            rest = await ctx.task_all([c.task for c in built.children])
        except Exception as exc:
            log.append(["rest-failed", describe(exc)])
        else:
            log.append(["rest", describe(rest)])


def _after_await(expr: TaskExpr, built: _Built, value: Any, log: list[Json]) -> bool:
    """Log a successful await; True when a `task_any` should now wait for all its children."""
    if not isinstance(expr, AnyOf):
        log.append(["done", describe(value)])
        return False
    winner = next(i for i, c in enumerate(built.children) if c.task is value)
    log.append(["winner", winner, describe(value.result)])
    if expr.cancel_pending_timers:
        for child in built.children:
            if (
                isinstance(child.expr, Timer)
                and child.expr.seconds <= SHORT_TIMER_LIMIT
                and not child.task.is_completed
            ):
                child.task.cancel()
                log.append(["cancelled", built.children.index(child)])
    return expr.await_all_afterwards


def _observe(what: str, ctx: Any) -> Json:
    if what == "clock":
        return ctx.current_utc_datetime.isoformat()
    if what == "replaying":
        return ctx.is_replaying
    if what == "uuid":
        return ctx.new_uuid()
    if what == "guid":
        return str(ctx.new_guid())
    if what == "instance":
        return ctx.instance_id
    if what == "parent":
        return ctx.parent_instance_id
    return ctx.get_input()


def _start(program: Program, context: Any) -> tuple[int, list[Json]]:
    data = context.get_input()
    generation = data.get("generation", 0) if isinstance(data, dict) else 0
    return generation, [["generation", generation]]


def _plain_step(step: Step, context: Any, sdk: Any, log: list[Json]) -> None:
    """Every step but `Await`: the same code in both forms."""
    if isinstance(step, Signal):
        # The returned task is never yielded (protocol §7.4, quirk 13).
        context.signal_entity(sdk.EntityId(step.entity, step.key), step.operation, step.input)
    elif isinstance(step, SetStatus):
        context.set_custom_status(step.value)
    elif isinstance(step, Observe):
        log.append([step.what, _observe(step.what, context)])
    elif isinstance(step, Fail):
        if step.message:
            raise ValueError(f"{step.message} after {len(log)} steps")
        raise ValueError()


def _finish(program: Program, context: Any, generation: int, log: list[Json]) -> Json:
    if generation < program.generations:
        context.continue_as_new({"generation": generation + 1, "log": len(log)})
    return log if program.return_log else None


def build_orchestrator(program: Program, sdk: Any, form: str = "generator") -> Callable[[Any], Any]:
    """Return the program as an orchestrator function for `sdk`.

    `form` is ``"generator"`` (``yield`` tasks; runs on either SDK) or ``"async"`` (an
    ``async def`` that awaits them; ours only), the twin that must send the same state.
    """
    if form == "async":

        async def async_orchestrator(context: Any) -> Json:
            generation, log = _start(program, context)
            for step in program.steps:
                if isinstance(step, Await):
                    await _run_await_async(step.expr, context, sdk, log)
                else:
                    _plain_step(step, context, sdk, log)
            return _finish(program, context, generation, log)

        return async_orchestrator

    def orchestrator(context: Any) -> Generator[Any, Any, Any]:
        generation, log = _start(program, context)
        for step in program.steps:
            if isinstance(step, Await):
                yield from _run_await(step.expr, context, sdk, log)
            else:
                _plain_step(step, context, sdk, log)
        return _finish(program, context, generation, log)

    return orchestrator


# --------------------------------------------------------------------------------------------
# Strategies

_text = st.text(alphabet=st.sampled_from("abcxyz é☃\"\\'{}"), max_size=6)
json_values: st.SearchStrategy[Json] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.sampled_from([0.5, -1.25, 1e21, 3.0])
    | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=5,
)

_names = st.sampled_from(["hello", "Charge", "ship_order", "a-b"])
_entities = st.sampled_from(["Counter", "cart"])
_keys = st.sampled_from(["k1", "Key Two", "é"])
_operations = st.sampled_from(["add", "get", "reset"])
_retry_ms = st.sampled_from([1, 1000, 60_000])
_attempts = st.integers(min_value=1, max_value=3)
# Seconds: mostly short, sometimes longer than the Azure Storage maximum short timer (6 days),
# which exercises long-timer splitting under the V3 host profile.
_short_seconds = [0, 1, 30, 3600, 2 * 24 * 3600]
_seconds = st.sampled_from([*_short_seconds, 7 * 24 * 3600, 13 * 24 * 3600])


def _atomic(event_names: st.SearchStrategy[str], shim_safe: bool) -> st.SearchStrategy[TaskExpr]:
    return st.one_of(
        st.builds(Activity, _names, json_values),
        st.builds(RetryActivity, _names, json_values, _retry_ms, _attempts),
        st.builds(
            SubOrchestration, _names, json_values, st.none() | st.sampled_from(["child-1", "c2"])
        ),
        st.builds(
            RetrySubOrchestration,
            _names,
            json_values,
            st.none() | st.sampled_from(["child-r"]),
            _retry_ms,
            _attempts,
        ),
        st.builds(Timer, st.sampled_from(_short_seconds) if shim_safe else _seconds),
        st.builds(WaitEvent, event_names),
        st.builds(CallEntity, _entities, _keys, _operations, json_values),
    )


def task_exprs(
    event_names: st.SearchStrategy[str], shim_safe: bool = False
) -> st.SearchStrategy[TaskExpr]:
    """Atomic tasks and task_all/task_any compounds nested up to a few levels."""
    return st.recursive(
        _atomic(event_names, shim_safe),
        lambda inner: st.one_of(
            st.builds(AllOf, st.lists(inner, min_size=int(shim_safe), max_size=3).map(tuple)),
            st.builds(
                AnyOf,
                st.lists(inner, min_size=1, max_size=3).map(tuple),
                st.booleans(),
                st.just(False) if shim_safe else st.booleans(),
            ),
        ),
        max_leaves=6,
    )


@st.composite
def programs(draw: st.DrawFn, shim_safe: bool = False) -> Program:
    """Programs of up to a handful of steps.

    `shim_safe=True` keeps to programs whose actions show exactly what the code waits for.
    Three things break that: waiting again on tasks that are already scheduled (it sends
    nothing), a `task_any` won by an empty `task_all` (a child with no action), and long timers
    (under Azure Storage limits their later intervals are appended as top-level CreateTimer
    actions, which a host awaits in turn although the code is not waiting on them). A host that
    replays the actions in order (the extension's shim, our engine) then waits while the SDK
    moves on, or the other way round; if a retry is pending meanwhile, the two number the next
    tasks differently and the host reports non-determinism. The reference does the same on such
    a host, so only the SDK-to-SDK comparisons use these programs.

    Every wait uses its own event name: the reference keeps an event that arrives before its
    waiter and hands it to every later waiter, which we fix (compatibility.md, external events
    that arrive early), and concurrent waiters on one name are LIFO. Unique names keep both out.
    """
    counter = iter(range(10_000))
    event_names = st.builds(lambda _: f"ev{next(counter)}", st.none())
    step = st.one_of(
        st.builds(Await, task_exprs(event_names, shim_safe)),
        st.builds(Await, task_exprs(event_names, shim_safe)),
        st.builds(Signal, _entities, _keys, _operations, json_values),
        st.builds(SetStatus, json_values),
        st.builds(Observe, st.sampled_from(OBSERVATIONS)),
    )
    steps: list[Step] = draw(st.lists(step, max_size=6))
    if draw(st.integers(0, 9)) == 7:  # about one program in ten fails on purpose
        steps.append(Fail(draw(st.sampled_from(["boom", ""]))))
    return Program(
        steps=tuple(steps),
        generations=draw(st.sampled_from([0, 0, 0, 1])),
        return_log=draw(st.sampled_from([True, True, True, False])),
        input=draw(st.dictionaries(_text, json_values, max_size=2)),
    )
