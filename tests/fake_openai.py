"""A fake OpenAI-compatible model server for the OpenAI Agents tests: real HTTP on 127.0.0.1.

It answers what the OpenAI Agents SDK sends through the ``openai`` client, with scripted
answers: ``POST .../responses`` (the Responses API, the Agents SDK's default) and
``POST .../chat/completions``; and, for apps that authenticate with ``azure-identity``'s
``DefaultAzureCredential`` (the reference's ``openai_agents`` sample), any ``GET`` as an
App Service managed identity endpoint (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``).

A script is a function from the request's JSON body to the answer: the tests answer by
what the model is asked (the last input item), so the answers do not depend on call order.
Every request is recorded (``requests``); the server runs in a thread until ``close()``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Script = Callable[[dict[str, Any]], dict[str, Any]]
"""Request JSON body -> one answer: ``text(...)``, ``tool_call(...)`` or ``error(...)``."""

TOKEN = "fake-azure-ad-token"


def text(answer: str) -> dict[str, Any]:
    """A final answer: one assistant message."""
    return {"kind": "text", "text": answer}


def tool_call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    """The model asks to call the tool ``name`` with ``arguments``."""
    return {"kind": "tool", "name": name, "arguments": arguments, "call_id": call_id}


def error(status: int, message: str) -> dict[str, Any]:
    """An HTTP error answer (the openai client retries 5xx itself)."""
    return {"kind": "error", "status": status, "message": message}


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last ``user`` input item (Responses) or message (Chat Completions)."""
    items = body.get("input", body.get("messages", []))
    if isinstance(items, str):
        return items
    for item in reversed(items):
        if item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return " ".join(str(part.get("text", "")) for part in content or [])
    return ""


def tool_outputs(body: dict[str, Any]) -> list[str]:
    """The outputs of the tool calls already made in this conversation (Responses input items
    or Chat Completions ``tool`` messages)."""
    items = body.get("input", body.get("messages", []))
    if isinstance(items, str):
        return []
    return [
        str(item.get("output") if item.get("type") == "function_call_output" else item["content"])
        for item in items
        if item.get("type") == "function_call_output" or item.get("role") == "tool"
    ]


_USAGE = {
    "input_tokens": 11,
    "output_tokens": 7,
    "total_tokens": 18,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 0},
}


class FakeOpenAI:
    """The server; ``base_url`` for ``AsyncOpenAI``, ``azure_env()`` for the sample's settings."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # the managed identity token endpoint
                expires = int(time.time()) + 3600
                self._send(
                    200,
                    {
                        "access_token": TOKEN,
                        "expires_on": str(expires),
                        "resource": "https://cognitiveservices.azure.com",
                        "token_type": "Bearer",
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    fake.requests.append((path, body))
                    number = next(fake._ids)
                try:
                    answer = fake.script(body)
                except Exception as exc:  # a broken script is a 500 the test sees
                    answer = error(500, f"script failed: {exc!r}")
                if answer["kind"] == "error":
                    self._send(answer["status"], {"error": {"message": answer["message"]}})
                elif path.endswith("/chat/completions"):
                    self._send(200, _chat_completion(answer, number, body))
                elif path.endswith("/responses"):
                    self._send(200, _response(answer, number, body))
                else:
                    self._send(404, {"error": {"message": f"no such endpoint {path}"}})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-request-id", f"req_{status}")
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def model_requests(self) -> list[dict[str, Any]]:
        """The bodies of the model calls (token requests left out)."""
        with self._lock:
            return [body for _, body in self.requests]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def azure_env(port: int, deployment: str = "fake-deployment") -> dict[str, str]:
    """The settings the reference's ``openai_agents`` sample reads, pointed at the fake."""
    base = f"http://127.0.0.1:{port}"
    return {
        "AZURE_OPENAI_ENDPOINT": base,
        "AZURE_OPENAI_DEPLOYMENT": deployment,
        "AZURE_OPENAI_API_VERSION": "2025-03-01-preview",
        # The model the Agents SDK asks for (on Azure, the deployment's name).
        "OPENAI_DEFAULT_MODEL": deployment,
        # DefaultAzureCredential -> ManagedIdentityCredential (App Service) -> the fake.
        "IDENTITY_ENDPOINT": f"{base}/msi/token",
        "IDENTITY_HEADER": "fake-identity-header",
        # The Agents SDK would export traces to OpenAI's service: not from a test.
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
    }


def _response(answer: dict[str, Any], number: int, body: dict[str, Any]) -> dict[str, Any]:
    if answer["kind"] == "tool":
        item: dict[str, Any] = {
            "type": "function_call",
            "id": f"fc_{number}",
            "call_id": answer["call_id"],
            "name": answer["name"],
            "arguments": json.dumps(answer["arguments"]),
            "status": "completed",
        }
    else:
        item = {
            "type": "message",
            "id": f"msg_{number}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": answer["text"], "annotations": []}],
        }
    return {
        "id": f"resp_{number}",
        "object": "response",
        "created_at": 1_700_000_000 + number,
        "status": "completed",
        "model": body.get("model") or "fake-model",
        "output": [item],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": _USAGE,
    }


def _chat_completion(answer: dict[str, Any], number: int, body: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if answer["kind"] == "tool":
        message["tool_calls"] = [
            {
                "id": answer["call_id"],
                "type": "function",
                "function": {"name": answer["name"], "arguments": json.dumps(answer["arguments"])},
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = answer["text"]
        finish = "stop"
    return {
        "id": f"chatcmpl_{number}",
        "object": "chat.completion",
        "created": 1_700_000_000 + number,
        "model": body.get("model") or "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def sample_script(body: dict[str, Any]) -> dict[str, Any]:
    """Answers for the reference's ``openai_agents`` sample (``samples-v2``).

    ``hello_world`` gets a haiku; ``tools`` first asks for ``get_weather`` (a plain function
    tool), then answers from its output; ``message_filter`` asks for a random number through
    the ``random_number_tool`` activity in its second step, then reports the number.
    """
    question = last_user_text(body)
    outputs = tool_outputs(body)
    if "recursion" in question:
        return text(
            "Code calls itself, / smaller steps toward the base case, / then the stack unwinds."
        )
    if "weather in Tokyo" in question:
        if not outputs:
            return tool_call("get_weather", {"city": "Tokyo"})
        return text(f"Tokyo now: {outputs[-1]}")
    if "random number" in question:
        if not outputs:
            return tool_call("random_number_tool", {"max": 100})
        return text(f"Your number is {outputs[-1]}.")
    if "Sora" in question:
        return text("Hi Sora.")
    return text(f"You said: {question}")
