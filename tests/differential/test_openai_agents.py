"""Agent orchestrators: the same app on the reference SDK and on ours, compared.

One app, built against either SDK's ``DFApp``, runs in the test harness with the model a
fake OpenAI server (``tests/fake_openai.py``, a fresh one per run so response ids agree).
Both runs must write the same history: the same ``run_model`` requests (byte for byte),
the same results, the same output. Then each SDK replays the other's history and must make
exactly the recorded decisions: histories written by one replay under the other.

The app sticks to what the reference runs with the installed ``openai-agents``: text
answers and activities called by the code (the reference fails a tool call's follow-up
request on newer Agents SDKs, see docs/compatibility.md).
"""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("agents", reason="the openai extra (openai-agents) is not installed")

from agents import Agent, Runner, set_default_openai_api, set_default_openai_client  # noqa: E402
from agents.models import _openai_shared  # noqa: E402
from fake_openai import FakeOpenAI, last_user_text, text  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402

from durable_functions.testing import OrchestrationTestEnv  # noqa: E402
from durable_functions.testing.replayer import parse_history, replay_history  # noqa: E402

pytestmark = [
    pytest.mark.reference,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    # The reference's unclosed event loops (one per episode, see _close_leftover_loops).
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def script(body: dict[str, Any]) -> dict[str, Any]:
    return text(f"Noted: {last_user_text(body)}")


def build_app(df: ModuleType) -> Any:
    """The same app against either SDK."""
    app = df.DFApp()

    @app.activity_trigger(input_name="city")
    def weather(city: str) -> str:
        return f"rain in {city}"

    @app.orchestration_trigger(context_name="context")
    @app.durable_openai_agent_orchestrator
    def plan(context):  # type: ignore[no-untyped-def]
        agent = Agent(name="Planner", instructions="Plan a trip.")
        first = Runner.run_sync(agent, f"Trip to {context.get_input()}")
        second = Runner.run_sync(
            agent, first.to_input_list() + [{"role": "user", "content": "And then?"}]
        )
        return {"first": first.final_output, "second": second.final_output}

    @app.orchestration_trigger(context_name="context")
    @app.durable_openai_agent_orchestrator
    def chat(context):  # type: ignore[no-untyped-def]
        agent = Agent(name="Assistant", instructions="Chat.")
        answers = []
        while True:
            message = yield context.wait_for_external_event("UserInput")
            if message == "bye":
                return answers
            report = yield context.call_activity("weather", message)
            answers.append(Runner.run_sync(agent, f"{message}: {report}").final_output)

    return app


@pytest.fixture(autouse=True)
def default_client() -> Iterator[None]:
    """The reference's ``run_model`` uses the default client (it refuses model providers)."""
    previous = _openai_shared.get_default_openai_client()
    yield
    _openai_shared.set_default_openai_client(previous)  # type: ignore[arg-type]
    _close_leftover_loops()  # the replays after run_with made more


def run_with(df: ModuleType, name: str, **run: Any) -> tuple[Any, dict[str, Any]]:
    server = FakeOpenAI(script)
    try:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)
        set_default_openai_client(client, use_for_tracing=False)
        set_default_openai_api("responses")
        env = OrchestrationTestEnv(build_app(df))
        result = env.run(name, **run)
        assert result.runtime_status.value == "Completed", result.error
        return env, env.export_history(result.instance_id) | {"output": result.output}
    finally:
        server.close()
        _close_leftover_loops()


def _close_leftover_loops() -> None:
    """The reference makes the thread a new event loop in every episode and never closes
    them: close the current one and collect the others here, not in a later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            loop = None
        if loop is not None and not loop.is_running():
            loop.close()
            asyncio.set_event_loop(None)
        gc.collect()


def reduced(history: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What the code decided and received, without times and ids."""
    return [
        (event["EventType"], event.get("Name"), event.get("Input"), event.get("Result"))
        for event in history
        if "Timestamp" in event
    ]


RUNS = {
    "plan": {"input": "Oslo"},
    # An hour apart: each arrives while the code waits for it (the reference mixes up
    # several same-named events that all arrived before the code waited for them).
    "chat": {
        "events": [
            ("UserInput", message, timedelta(hours=hour))
            for hour, message in enumerate(("Rome", "Lima", "bye"), start=1)
        ]
    },
}


@pytest.mark.parametrize("name", list(RUNS))
def test_both_sdks_write_the_same_history_and_replay_each_others(name: str) -> None:
    import azure.durable_functions as reference

    import durable_functions as ours

    ours_env, ours_doc = run_with(ours, name, **RUNS[name])
    theirs_env, theirs_doc = run_with(reference, name, **RUNS[name])

    assert ours_doc["output"] == theirs_doc["output"]
    assert reduced(ours_doc["history"]) == reduced(theirs_doc["history"])
    requests = [e["Input"] for e in ours_doc["history"] if e.get("Name") == "run_model"]
    assert requests and all(json.loads(json.loads(r))["tracing"] == 0 for r in requests)
    for replayer, document in ((theirs_env, ours_doc), (ours_env, theirs_doc)):
        report = replay_history(replayer.app, parse_history(document))
        assert report.ok, str(report)
