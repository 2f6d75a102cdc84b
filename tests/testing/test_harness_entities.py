"""Entities: called and signalled from orchestrations and from the environment."""

from __future__ import annotations

import durable_functions as df
from durable_functions.testing import OrchestrationTestEnv

app = df.DFApp()


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
        context.set_state(value)
    elif context.operation_name == "reset":
        context.set_state(0)
    context.set_result(value)


@app.orchestration_trigger(context_name="context")
def uses_counter(context: df.DurableOrchestrationContext):
    entity = df.EntityId("counter", "k1")
    context.signal_entity(entity, "add", 5)
    total = yield context.call_entity(entity, "add", 10)
    return total


def test_an_orchestration_signals_and_calls_an_entity() -> None:
    env = OrchestrationTestEnv(app)

    result = env.run("uses_counter")

    assert result.output == 15
    assert env.entity_state(df.EntityId("counter", "k1")) == 15


def test_the_environment_can_signal_an_entity_directly() -> None:
    env = OrchestrationTestEnv(app)

    env.signal_entity(("counter", "k2"), "add", 3)
    env.signal_entity(("counter", "k2"), "add", 4)
    env.run_until_idle()

    assert env.entity_state(("counter", "k2")) == 7


def test_an_entity_that_never_ran_has_the_default_state() -> None:
    env = OrchestrationTestEnv(app)

    assert env.entity_state(("counter", "missing"), default="none") == "none"
