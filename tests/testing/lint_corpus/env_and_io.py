"""True positives: environment, I/O and sleeping inside v2 orchestrators."""

import os
import socket
import time
import urllib.request
from os import getenv

import httpx
import requests

import durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def configured(context: df.DurableOrchestrationContext):
    region = os.environ["REGION"]  # expect: DF005
    tier = os.environ.get("TIER", "free")  # expect: DF005
    level = getenv("LEVEL")  # expect: DF005
    result = yield context.call_activity("provision", [region, tier, level])
    return result


@bp.orchestration_trigger(context_name="context", orchestration="io")
def does_io(context: df.DurableOrchestrationContext):
    with open("settings.json") as handle:  # expect: DF006
        settings = handle.read()
    page = requests.get("https://example.org").text  # expect: DF006
    body = urllib.request.urlopen("https://example.org").read()  # expect: DF006
    answer = httpx.get("https://example.org").json()  # expect: DF006
    host = socket.gethostname()  # expect: DF006
    time.sleep(5)  # expect: DF007
    yield context.call_activity("store", [settings, page, body.decode(), answer, host])
