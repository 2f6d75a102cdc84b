"""True positives: a v1 orchestrator (Orchestrator.create) and the helpers it calls."""

import datetime
import random

import durable_functions as df


def deadline(context):
    return datetime.datetime.utcnow() + datetime.timedelta(hours=1)  # expect: DF001


def jitter():
    return random.random()  # expect: DF003


def steps(context):
    first = yield context.call_activity("step", jitter())
    context.call_activity("forgotten", first)  # expect: DF009
    return first


def not_called_from_an_orchestrator():
    return datetime.datetime.now()


def orchestrator_function(context: df.DurableOrchestrationContext):
    yield context.create_timer(deadline(context))
    result = yield from steps(context)
    return result


main = df.Orchestrator.create(orchestrator_function)
