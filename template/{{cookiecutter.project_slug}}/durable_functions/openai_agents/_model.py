"""The two ends of a model call: the orchestrator's stand-in model and the activity.

In the orchestrator, :class:`DurableActivityModel` is the model of every agent run: a
call of it is a call of the ``run_model`` activity, answered from history on replay. In
the activity, :func:`run_model_activity` asks the real model (from the app's model
provider, by default the Agents SDK's ``OpenAIProvider``) and returns its response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents import (
    AgentOutputSchema,
    AgentOutputSchemaBase,
    Handoff,
    Model,
    ModelProvider,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    OpenAIProvider,
    Tool,
    TResponseInputItem,
)
from agents.items import TResponseStreamEvent

from durable_functions.openai_agents._tracker import TaskTracker
from durable_functions.openai_agents._wire import (
    DurableAgentOutputSchema,
    DurableHandoff,
    DurableModelActivityInput,
    ModelTracingLevel,
    dump_model_response,
    load_model_response,
    tool_description,
    tool_from_description,
)
from durable_functions.options import RetryOptions

__all__ = ["DurableActivityModel", "run_model_activity"]


class DurableActivityModel(Model):
    """A model whose every response is the result of the ``run_model`` activity."""

    def __init__(
        self,
        model_name: str | None,
        task_tracker: TaskTracker,
        retry_options: RetryOptions | None,
        activity_name: str,
    ) -> None:
        self.model_name = model_name
        self.task_tracker = task_tracker
        self.retry_options = retry_options
        self.activity_name = activity_name

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff[Any, Any]],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: Any | None = None,
    ) -> ModelResponse:
        if output_schema is not None and not isinstance(output_schema, AgentOutputSchema):
            raise TypeError(
                "Only AgentOutputSchema is supported by Durable Model, "
                f"got {type(output_schema).__name__}"
            )
        request = DurableModelActivityInput.build(
            input,
            model_name=self.model_name,
            system_instructions=system_instructions,
            model_settings=model_settings,
            tools=[tool_description(tool) for tool in tools],
            output_schema=(
                None if output_schema is None else DurableAgentOutputSchema.describe(output_schema)
            ),
            handoffs=[DurableHandoff.describe(handoff) for handoff in handoffs],
            # The model is called in an activity, outside the orchestration's trace.
            tracing=ModelTracingLevel.DISABLED,
            previous_response_id=previous_response_id,
            prompt=prompt,
        )
        text = self.task_tracker.call_activity(
            self.activity_name, request.to_json(), self.retry_options
        )
        return load_model_response(text)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[TResponseStreamEvent]:
        raise NotImplementedError("Durable model doesn't support streams yet")


async def run_model_activity(input: str, model_provider: ModelProvider | None) -> str:
    """The ``run_model`` activity: one model request (JSON text) -> its response (JSON text)."""
    request = DurableModelActivityInput.from_json(input)
    provider = model_provider if model_provider is not None else OpenAIProvider()
    model = provider.get_model(request.model_name)
    response = await model.get_response(
        system_instructions=request.system_instructions,
        # Plain JSON values, not pydantic objects (pydantic/pydantic#9541).
        input=json.loads(json.dumps(request.input, default=str)),
        model_settings=request.model_settings,
        tools=[tool_from_description(tool) for tool in request.tools],
        output_schema=request.output_schema,
        handoffs=[handoff.to_handoff() for handoff in request.handoffs],
        tracing=ModelTracing(request.tracing),
        previous_response_id=request.previous_response_id,
        conversation_id=None,  # not part of the request (the reference's wire format)
        prompt=request.prompt,
    )
    return dump_model_response(response)
