"""OpenAI agent orchestrators (``durable_openai_agent_orchestrator``) in the test harness.

The model is a real HTTP server on 127.0.0.1 speaking the Responses API with scripted
answers (``tests/fake_openai.py``), reached through the Agents SDK's own OpenAI model and
the ``openai`` client: nothing of ours is mocked. Each model call must go through the
``run_model`` activity, once: episodes that replay a step take its result from history.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents", reason="the openai extra (openai-agents) is not installed")

from agents import (  # noqa: E402
    Agent,
    HostedMCPTool,
    Model,
    ModelProvider,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_default_openai_api,
    set_default_openai_client,
)
from agents.models import _openai_shared  # noqa: E402
from fake_openai import FakeOpenAI, last_user_text, text, tool_call, tool_outputs  # noqa: E402
from openai import AsyncOpenAI  # noqa: E402
from pydantic import BaseModel  # noqa: E402

import durable_functions as df  # noqa: E402
from durable_functions.openai_agents import DurableAIAgentContext  # noqa: E402
from durable_functions.testing import OrchestrationTestEnv  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def script(body: dict[str, Any]) -> dict[str, Any]:
    question = last_user_text(body)
    outputs = tool_outputs(body)
    if "docs" in question:
        return text("Found in the docs.")
    if "hola" in question:  # the triage agent hands off; the Spanish agent answers
        if body.get("instructions") == "Hand Spanish to the Spanish agent.":
            return tool_call("transfer_to_spanish", {})
        return text(f"{body.get('instructions')} ¡Hola!")
    if "weather" in question:
        return tool_call("get_weather", {"city": "Oslo"}) if not outputs else text(outputs[-1])
    if "number" in question:
        if not outputs:
            return tool_call("pick_number", {"max": 100})
        return text(f"Your number is {outputs[-1]}.")
    if "city facts" in question:
        return text(json.dumps({"city": "Lima", "population": 10}))
    if "refuse" in question:
        return {"kind": "error", "status": 400, "message": "the model refuses"}
    return text(f"You said: {question}")


SERVER = FakeOpenAI(script)


class FakeProvider(ModelProvider):
    """The Agents SDK's Responses model, on an ``AsyncOpenAI`` client of the fake server."""

    def get_model(self, model_name: str | None) -> Model:
        client = AsyncOpenAI(base_url=SERVER.base_url, api_key="test-key", max_retries=0)
        return OpenAIResponsesModel(model=model_name or "fake-model", openai_client=client)


class ChatProvider(ModelProvider):
    """The Agents SDK's Chat Completions model, on the fake server."""

    def get_model(self, model_name: str | None) -> Model:
        client = AsyncOpenAI(base_url=SERVER.base_url, api_key="test-key", max_retries=0)
        return OpenAIChatCompletionsModel(model=model_name or "fake-model", openai_client=client)


@pytest.fixture(autouse=True)
def fresh_requests() -> Iterator[None]:
    with SERVER._lock:
        SERVER.requests.clear()
    yield


@pytest.fixture(autouse=True, scope="module")
def no_tracing() -> Iterator[None]:
    from agents import set_tracing_disabled

    set_tracing_disabled(True)
    yield


app = df.DFApp()
PROVIDER = FakeProvider()
RETRY = df.RetryOptions(1000, 2)


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


@app.activity_trigger(input_name="max")
def pick_number(max: int) -> int:
    """Pick a number between 0 and max."""
    return max // 2


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator(model_provider=PROVIDER, model_retry_options=RETRY)
def hello(context: DurableAIAgentContext) -> str:
    agent = Agent(name="Assistant", instructions="Be brief.")
    return Runner.run_sync(agent, context.get_input()).final_output


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def tools(context: DurableAIAgentContext) -> str:
    agent = Agent(
        name="Assistant",
        instructions="Use the tools.",
        tools=[get_weather, context.create_activity_tool(pick_number)],
    )
    first = Runner.run_sync(agent, "What is the weather?")
    second = Runner.run_sync(agent, "Pick a number for me.")
    return f"{first.final_output} / {second.final_output}"


class CityFacts(BaseModel):
    city: str
    population: int


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def triage(context: DurableAIAgentContext) -> str:
    spanish = Agent(name="Spanish", instructions="Answer in Spanish.")
    agent = Agent(
        name="Triage", instructions="Hand Spanish to the Spanish agent.", handoffs=[spanish]
    )
    result = Runner.run_sync(agent, "hola")
    return f"{result.last_agent.name}: {result.final_output}"


MCP = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example/sse",
    "require_approval": "never",
}


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def hosted_mcp(context: DurableAIAgentContext) -> str:
    agent = Agent(name="Reader", instructions="Read.", tools=[HostedMCPTool(tool_config=MCP)])
    return Runner.run_sync(agent, "search the docs").final_output


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator()
def structured(context: DurableAIAgentContext) -> CityFacts:
    agent = Agent(name="Facts", instructions="Answer in JSON.", output_type=CityFacts)
    return Runner.run_sync(agent, "Give me city facts").final_output


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def chat(context: DurableAIAgentContext):
    """A generator: waits for each message, answers it with an agent, until ``bye``."""
    agent = Agent(name="Assistant", instructions="Chat.")
    answers = []
    while True:
        message = yield context.wait_for_external_event("UserInput")
        if message == "bye":
            return answers
        answers.append(Runner.run_sync(agent, message).final_output)
        context.set_custom_status(answers[-1])


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def async_run(context: DurableAIAgentContext) -> Any:
    import asyncio

    return asyncio.run(Runner.run(Agent(name="A", instructions="x"), "hi"))


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def streamed_run(context: DurableAIAgentContext) -> Any:
    return Runner.run_streamed(Agent(name="A", instructions="x"), "hi")


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def model_object(context: DurableAIAgentContext) -> Any:
    agent = Agent(name="A", instructions="x", model=FakeProvider().get_model(None))
    return Runner.run_sync(agent, "hi").final_output


def model_calls(result: Any) -> list[Any]:
    return [call for call in result.activity_calls if call.name == "run_model"]


@pytest.fixture
def env() -> OrchestrationTestEnv:
    return OrchestrationTestEnv(app)


def test_each_model_call_is_one_run_model_activity(env: OrchestrationTestEnv) -> None:
    result = env.run("hello", input="good morning")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Completed, result.error
    assert result.output == "You said: good morning"
    [call] = model_calls(result)
    request = json.loads(call.input)  # the request travels as pydantic JSON text
    assert request["system_instructions"] == "Be brief."
    assert request["input"] == [{"content": "good morning", "role": "user"}]
    assert request["tracing"] == 0
    assert json.loads(call.output)["output"][0]["content"][0]["text"] == "You said: good morning"
    assert len(SERVER.model_requests()) == 1


def test_tools_run_in_the_orchestrator_and_activity_tools_as_activities(
    env: OrchestrationTestEnv,
) -> None:
    result = env.run("tools")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Completed, result.error
    assert result.output == "Sunny in Oslo / Your number is 50."
    assert [
        (c.name, c.input if c.name != "run_model" else "...") for c in result.activity_calls
    ] == [
        ("run_model", "..."),  # -> get_weather (a function tool: runs in the orchestrator)
        ("run_model", "..."),
        ("run_model", "..."),  # -> pick_number, an activity
        ("pick_number", 100),
        ("run_model", "..."),
    ]
    described = json.loads(model_calls(result)[0].input)["tools"]
    assert [tool["name"] for tool in described] == ["get_weather", "pick_number"]
    assert described[1]["description"] == "Pick a number between 0 and max."
    # Five episodes replayed the earlier steps from history: the model was asked 4 times.
    assert len(SERVER.model_requests()) == 4


def test_a_handoff_runs_in_the_orchestrator_and_the_next_agent_answers(
    env: OrchestrationTestEnv,
) -> None:
    result = env.run("triage")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Completed, result.error
    assert result.output == "Spanish: Answer in Spanish. ¡Hola!"
    first, second = (json.loads(call.input) for call in model_calls(result))
    assert [(h["tool_name"], h["agent_name"]) for h in first["handoffs"]] == [
        ("transfer_to_spanish", "Spanish")
    ]
    assert first["system_instructions"] == "Hand Spanish to the Spanish agent."
    assert second["system_instructions"] == "Answer in Spanish."
    asked = SERVER.model_requests()
    assert len(asked) == 2
    # The run_model activity offered the model the handoff as a tool.
    assert [tool["name"] for tool in asked[0]["tools"]] == ["transfer_to_spanish"]


def test_a_hosted_mcp_tool_reaches_the_model_as_its_configuration(
    env: OrchestrationTestEnv,
) -> None:
    result = env.run("hosted_mcp")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Completed, result.error
    assert result.output == "Found in the docs."
    [call] = model_calls(result)
    assert json.loads(call.input)["tools"] == [{"tool_config": MCP}]
    [asked] = SERVER.model_requests()
    assert asked["tools"] == [MCP]


def test_a_structured_output_is_returned_as_its_json(env: OrchestrationTestEnv) -> None:
    result = env.run("structured")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Completed, result.error
    assert json.loads(result.output) == {"city": "Lima", "population": 10}
    schema = json.loads(model_calls(result)[0].input)["output_schema"]
    assert schema["output_type_name"] == "CityFacts"
    assert schema["output_schema"]["required"] == ["city", "population"]


def test_a_generator_mixes_its_own_yields_with_agent_runs(env: OrchestrationTestEnv) -> None:
    result = env.run(
        "chat", events=[("UserInput", "one"), ("UserInput", "two"), ("UserInput", "bye")]
    )

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Completed, result.error
    assert result.output == json.dumps(["You said: one", "You said: two"])
    assert result.custom_statuses == ["You said: one", "You said: two"]
    assert len(SERVER.model_requests()) == 2


def test_a_failing_model_call_is_retried_then_fails_the_orchestration(
    env: OrchestrationTestEnv,
) -> None:
    result = env.run("hello", input="please refuse")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Failed
    assert "Activity function 'run_model' failed: BadRequestError" in str(result.error)
    assert len(model_calls(result)) == 2  # RetryOptions(1000, 2): two attempts
    assert len(SERVER.model_requests()) == 2


@pytest.mark.parametrize(
    ("orchestrator", "message"),
    [
        ("async_run", "Durable Functions do not support asynchronous runs."),
        ("streamed_run", "Durable Functions do not support streaming."),
        (
            "model_object",
            "For agent execution in Durable Functions, model name in run_config or "
            "starting_agent must be a string.",
        ),
    ],
)
def test_what_cannot_run_durably_fails_with_the_reference_text(
    env: OrchestrationTestEnv, orchestrator: str, message: str
) -> None:
    result = env.run(orchestrator)

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Failed
    assert result.error == f"Orchestrator function '{orchestrator}' failed: {message}"
    assert SERVER.model_requests() == []


def test_outside_an_orchestrator_runner_is_the_plain_agents_runner() -> None:
    OrchestrationTestEnv(app).run("hello", input="installs the durable runner")
    agent = Agent(name="A", instructions="x", model=PROVIDER.get_model(None))
    outputs: list[Any] = []

    # A thread of its own: the Agents SDK's run_sync keeps one event loop per thread, whose
    # async generators it shuts down after each run (later ones warn on that loop).
    def plain_run() -> None:
        outputs.append(Runner.run_sync(agent, "plain").final_output)
        asyncio.get_event_loop_policy().get_event_loop().close()  # the SDK leaves it open

    worker = threading.Thread(target=plain_run)
    worker.start()
    worker.join(60)

    assert outputs == ["You said: plain"]


def test_the_decorator_registers_run_model_once_and_checks_the_provider() -> None:
    fresh = df.DFApp()

    @fresh.orchestration_trigger(context_name="context")
    @fresh.durable_openai_agent_orchestrator
    def first(context: DurableAIAgentContext) -> None:
        pass

    @fresh.orchestration_trigger(context_name="context")
    @fresh.durable_openai_agent_orchestrator(model_retry_options=None)
    def second(context: DurableAIAgentContext) -> None:
        pass

    functions = {fn.get_function_name(): fn for fn in fresh.get_functions()}

    assert sorted(functions) == ["first", "run_model_activity", "second"]
    trigger = functions["run_model_activity"].get_trigger()
    assert (trigger.name, trigger.activity) == ("input", "run_model")
    with pytest.raises(TypeError, match="Provided model provider must be of type ModelProvider"):
        df.DFApp().durable_openai_agent_orchestrator(model_provider="gpt-4")


def test_importing_the_sdk_does_not_import_the_agents_sdk() -> None:
    code = (
        "import sys, durable_functions as df; df.DFApp; "
        "assert 'openai_agents' in df.__all__; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('agents', 'openai')], "
        "sorted(sys.modules); "
        "from durable_functions.openai_agents import DurableAIAgentContext"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_chat_completions_model_works_the_same() -> None:
    chat_app = df.DFApp()

    @chat_app.activity_trigger(input_name="max")
    def pick_number(max: int) -> int:
        """Pick a number between 0 and max."""
        return max // 4

    @chat_app.orchestration_trigger(context_name="context")
    @chat_app.durable_openai_agent_orchestrator(model_provider=ChatProvider())
    def numbers(context: DurableAIAgentContext) -> str:
        agent = Agent(name="A", instructions="x", tools=[context.create_activity_tool(pick_number)])
        return Runner.run_sync(agent, "Pick a number for me.").final_output

    result = OrchestrationTestEnv(chat_app).run("numbers")

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Completed, result.error
    assert [c.name for c in result.activity_calls] == ["run_model", "pick_number", "run_model"]
    assert {path for path, _ in SERVER.requests} == {"/v1/chat/completions"}
    # The chat transcript shows the activity's result as the tool's output.
    last = SERVER.model_requests()[-1]["messages"][-1]
    assert (last["role"], last["content"]) == ("tool", "25")


def test_run_model_can_be_stood_in_for() -> None:
    """A stand-in gets the request's JSON text and gives a ModelResponse's JSON text."""

    def model(request_json: str) -> str:
        request = json.loads(request_json)
        said = request["input"][0]["content"]
        return json.dumps(
            {
                "output": [
                    {
                        "type": "message",
                        "id": "msg_1",
                        "role": "assistant",
                        "status": "completed",
                        "content": [
                            {"type": "output_text", "text": f"stub: {said}", "annotations": []}
                        ],
                    }
                ],
                "usage": {"requests": 1, "input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
                "response_id": None,
            }
        )

    result = OrchestrationTestEnv(app).run("hello", input="hi", stubs={"run_model": model})

    assert result.output == "stub: hi"
    assert SERVER.model_requests() == []


DOC = Path(__file__).resolve().parents[2] / "docs" / "openai-agents.md"


def test_the_docs_example_runs() -> None:
    code = DOC.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    module = types.ModuleType("agents_doc_app")
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    previous = _openai_shared.get_default_openai_client()
    set_default_openai_client(
        AsyncOpenAI(base_url=SERVER.base_url, api_key="test-key", max_retries=0),
        use_for_tracing=False,
    )
    set_default_openai_api("responses")
    try:
        result = OrchestrationTestEnv(module.app).run("weather_agent", input="weather in Oslo?")
    finally:
        _openai_shared.set_default_openai_client(previous)  # type: ignore[arg-type]

    assert result.runtime_status == df.OrchestrationRuntimeStatus.Completed, result.error
    assert result.output == "Sunny in Oslo"
    assert [(c.name, c.input) for c in result.activity_calls][1] == ("get_weather", "Oslo")


def test_an_async_function_or_the_wrong_order_is_refused_when_decorated() -> None:
    fresh = df.DFApp()

    async def agent(context: DurableAIAgentContext) -> str:
        return "never"

    with pytest.raises(TypeError, match="'agent' is an async def function"):
        fresh.durable_openai_agent_orchestrator(agent)
    registered = fresh.orchestration_trigger(context_name="context")(lambda context: None)
    with pytest.raises(TypeError, match="put it under @app.orchestration_trigger"):
        fresh.durable_openai_agent_orchestrator(registered)
