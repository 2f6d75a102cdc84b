"""The ``run_model`` activity's input and output: what crosses the orchestration history.

An orchestrator cannot call the model (it is replayed), so each model call becomes the
``run_model`` activity. Its input is one JSON text, a :class:`DurableModelActivityInput`:
the model request with tools, handoffs and output schema reduced to their descriptions
(the code that runs a tool stays in the orchestrator). Its output is the JSON text of the
Agents SDK's ``ModelResponse``. Field names and order are the reference SDK's, so a
history written by either SDK replays under the other.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import Any, Union

from agents import (
    AgentOutputSchemaBase,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionTool,
    Handoff,
    HostedMCPTool,
    ImageGenerationTool,
    ModelResponse,
    ModelSettings,
    Tool,
    TResponseInputItem,
    UserError,
    WebSearchTool,
)
from openai.types.responses.tool_param import Mcp
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

__all__ = [
    "DurableAgentOutputSchema",
    "DurableFunctionTool",
    "DurableHandoff",
    "DurableMCPToolConfig",
    "DurableModelActivityInput",
    "DurableTool",
    "ModelTracingLevel",
    "dump_model_response",
    "load_model_response",
    "tool_description",
    "tool_from_description",
]

# Hosted tools travel as they are: they are plain data already.
_HOSTED_TOOLS = (FileSearchTool, WebSearchTool, ImageGenerationTool, CodeInterpreterTool)


class DurableFunctionTool(BaseModel):
    """What the model needs to know of a function tool (not the code that runs it)."""

    name: str
    description: str
    params_json_schema: dict[str, Any]
    strict_json_schema: bool = True


class DurableMCPToolConfig(BaseModel):
    """A hosted MCP tool's configuration."""

    tool_config: Mcp


DurableTool = Union[  # noqa: UP007 - pydantic reads the union at run time on Python 3.10
    DurableFunctionTool,
    FileSearchTool,
    WebSearchTool,
    ImageGenerationTool,
    CodeInterpreterTool,
    DurableMCPToolConfig,
]


class DurableHandoff(BaseModel):
    """What the model needs to know of a handoff (the target agent stays in the orchestrator)."""

    tool_name: str
    tool_description: str
    input_json_schema: dict[str, Any]
    agent_name: str
    strict_json_schema: bool = True

    @classmethod
    def describe(cls, handoff: Handoff[Any, Any]) -> DurableHandoff:
        return cls(**_fields(cls, handoff))

    def to_handoff(self) -> Handoff[Any, Any]:
        """A handoff the model can be offered; it is never invoked in the activity."""
        return Handoff(**dict(self), on_invoke_handoff=_not_invoked("a handoff"))


class DurableAgentOutputSchema(AgentOutputSchemaBase, BaseModel):  # type: ignore[misc]
    """An agent's output type, reduced to its name and JSON schema."""

    output_type_name: str | None = None
    output_schema: dict[str, Any] | None = None
    strict_json_schema: bool

    def is_plain_text(self) -> bool:
        return self.output_type_name in (None, "str")

    def name(self) -> str:
        if self.output_type_name is None:
            raise ValueError("Output type name has not been specified")
        return self.output_type_name

    def json_schema(self) -> dict[str, Any]:
        if self.is_plain_text():
            raise UserError("Cannot provide JSON schema for plain text output types")
        if self.output_schema is None:
            raise UserError("Output schema definition is missing")
        return self.output_schema

    def is_strict_json_schema(self) -> bool:
        return self.strict_json_schema

    def validate_json(self, json_str: str) -> Any:
        # The orchestrator validates the output with the agent's real schema.
        raise NotImplementedError("the output is validated in the orchestrator")

    @classmethod
    def describe(cls, schema: AgentOutputSchemaBase) -> DurableAgentOutputSchema:
        return cls(
            output_type_name=schema.name(),
            output_schema=None if schema.is_plain_text() else schema.json_schema(),
            strict_json_schema=schema.is_strict_json_schema(),
        )


class ModelTracingLevel(IntEnum):
    """``agents.ModelTracing`` as an int (the values match); model calls are sent DISABLED."""

    DISABLED = 0
    ENABLED = 1
    ENABLED_WITHOUT_DATA = 2


class DurableModelActivityInput(BaseModel):
    """The ``run_model`` activity's input: one model request."""

    input: Union[str, list[TResponseInputItem]]  # noqa: UP007 - see DurableTool
    model_settings: ModelSettings
    tracing: ModelTracingLevel
    model_name: str | None = None
    system_instructions: str | None = None
    tools: list[DurableTool] = Field(default_factory=list)
    output_schema: DurableAgentOutputSchema | None = None
    handoffs: list[DurableHandoff] = Field(default_factory=list)
    previous_response_id: str | None = None
    prompt: Any | None = None

    @classmethod
    def build(cls, input: str | list[Any], **fields: Any) -> DurableModelActivityInput:
        """Validate a request; input items the schema refuses only for a ``None`` are retried
        without their ``None`` fields (newer Agents SDKs echo output items with nulls that the
        input item types do not allow)."""
        try:
            return cls(input=input, **fields)
        except ValidationError:
            if isinstance(input, str):
                raise
            items = [_without_nulls(item) for item in input]
            return cls(input=items, **fields)

    def to_json(self) -> str:
        """The activity input text (pydantic JSON)."""
        try:
            return self.model_dump_json(warnings=False)
        except Exception:  # a value pydantic cannot write: the reference's fallback
            try:
                return json.dumps(self.model_dump(warnings=False), default=str)
            except Exception as exc:
                raise ValueError(f"Unable to serialize DurableModelActivityInput: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> DurableModelActivityInput:
        return cls.model_validate_json(text)


def _without_nulls(item: Any) -> Any:
    if isinstance(item, dict):
        return {key: value for key, value in item.items() if value is not None}
    return item


def tool_description(tool: Tool) -> DurableTool:
    """What of ``tool`` travels to the activity."""
    if isinstance(tool, _HOSTED_TOOLS):
        return tool
    if isinstance(tool, HostedMCPTool):
        return DurableMCPToolConfig(tool_config=tool.tool_config)
    if isinstance(tool, FunctionTool):
        return DurableFunctionTool(**_fields(DurableFunctionTool, tool))
    raise ValueError(f"Unsupported tool type for Durable Functions: {type(tool).__name__}")


def tool_from_description(described: DurableTool) -> Tool:
    """A tool the model can be offered in the activity (function tools are never run there)."""
    if isinstance(described, _HOSTED_TOOLS):
        return described
    if isinstance(described, DurableMCPToolConfig):
        return HostedMCPTool(tool_config=described.tool_config)
    if isinstance(described, DurableFunctionTool):
        return FunctionTool(**dict(described), on_invoke_tool=_not_invoked("a function tool"))
    raise UserError(f"Unsupported tool type: {described}")


def _fields(model: type[BaseModel], source: Any) -> dict[str, Any]:
    """``model``'s fields as ``source`` (the Agents SDK object of the same field names) has them."""
    return {name: getattr(source, name) for name in model.model_fields}


def _not_invoked(what: str) -> Callable[[Any, str], Awaitable[Any]]:
    """The invoke callback of a tool or handoff offered to the model but run elsewhere."""

    async def not_invoked(ctx: Any, arguments: str) -> Any:
        raise UserError(f"{what} runs in the orchestrator, not in the run_model activity")

    return not_invoked


_MODEL_RESPONSE: TypeAdapter[ModelResponse] = TypeAdapter(ModelResponse)


def dump_model_response(response: ModelResponse) -> str:
    """The activity's output text: the response's pydantic JSON."""
    return _MODEL_RESPONSE.dump_json(response).decode()


def load_model_response(text: str) -> ModelResponse:
    """The response back, output items and usage as the Agents SDK's own types."""
    return _MODEL_RESPONSE.validate_json(text)
