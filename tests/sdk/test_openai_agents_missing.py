"""Without the optional OpenAI Agents SDK, the agent decorator says what to install."""

from __future__ import annotations

import subprocess
import sys

APP = """
import sys
sys.modules["agents"] = None  # as if openai-agents were not installed
import durable_functions as df
app = df.DFApp()
try:
    @app.orchestration_trigger(context_name="context")
    @app.durable_openai_agent_orchestrator
    def plan(context):
        return None
except ModuleNotFoundError as exc:
    print(exc.name, exc, sep="|")
"""


def test_the_agent_decorator_without_openai_agents_names_the_package_to_install() -> None:
    done = subprocess.run(
        [sys.executable, "-c", APP], capture_output=True, text=True, check=True, timeout=60
    )
    name, message = done.stdout.strip().split("|")
    assert name == "agents"
    assert "durable_openai_agent_orchestrator needs the OpenAI Agents SDK" in message
    assert "pip install 'openai-agents>=0.24'" in message
