"""Durable orchestrations of OpenAI agents (the reference's preview ``openai_agents``).

Needs the optional ``openai-agents`` package (``pip install "openai-agents>=0.24"``);
importing this module without it raises ``ImportError``, and ``import durable_functions``
never imports it. Decorate a plain function with ``DFApp.durable_openai_agent_orchestrator``
under ``orchestration_trigger``: it receives a :class:`DurableAIAgentContext`, and each
model call of ``Runner.run_sync`` becomes a call of the app's ``run_model`` activity.
"""

from __future__ import annotations

from durable_functions.openai_agents.context import DurableAIAgentContext

__all__ = ["DurableAIAgentContext"]
