"""Findings silenced with ``# durable: ignore`` comments."""

import datetime
import os

import durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def silenced(context: df.DurableOrchestrationContext):
    first = datetime.datetime.now()  # durable: ignore[DF001]
    second = os.getenv("X"), datetime.datetime.now()  # durable: ignore[DF001]  # expect: DF005
    third = datetime.datetime.now(), os.getenv("Y")  # durable: ignore[DF001, DF005]
    fourth = datetime.datetime.now()  # durable: ignore
    fifth = datetime.datetime.now()  # durable: ignore[DF005]  # expect: DF001
    yield context.call_activity("log", [str(first), second, third, fourth, fifth])
