"""True positives: clock, timers and randomness read inside v2 orchestrators."""

import datetime as dt
import random
import time
import uuid
from datetime import date, datetime
from random import choice
from time import monotonic
from uuid import uuid1

import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def clocks(context: df.DurableOrchestrationContext):
    started = datetime.now()  # expect: DF001
    utc = datetime.utcnow()  # expect: DF001
    today = date.today()  # expect: DF001
    aliased = dt.datetime.now(dt.timezone.utc)  # expect: DF001
    stamp = time.time()  # expect: DF002
    tick = monotonic()  # expect: DF002
    yield context.call_activity("log", [str(started), str(utc), str(today), str(aliased)])
    return stamp + tick


@app.orchestration_trigger(context_name="context")
def chances(context: df.DurableOrchestrationContext):
    n = random.randint(1, 6)  # expect: DF003
    pick = choice(["a", "b"])  # expect: DF003
    token = uuid.uuid4()  # expect: DF004
    other = uuid1()  # expect: DF004
    result = yield context.call_activity("roll", [n, pick, str(token), str(other)])
    return result
