"""The reference SDK's ``samples-v2`` apps complete on ``durable start`` as their code documents.

Each runs switched to ``durable_functions`` (``ours``) and unmodified on the installed
reference SDK (``reference``), driven as ``sample_drivers`` describes. ``fan_in_fan_out``
copies files to Azure Blob Storage with ``azure-storage-blob``: it runs against Azurite (see
``azurite.py``), and with the package hidden, its failing import is a clear start-up error.
``openai_agents`` (the reference's preview ``durable_openai_agent_orchestrator``) runs with
the OpenAI Agents SDK against a fake Azure OpenAI on 127.0.0.1 (``fake_openai.py``, whose
``sample_script`` answers the sample's questions), authenticated by ``azure-identity``'s
``DefaultAzureCredential`` through the fake's managed identity endpoint.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azurite
import pytest
from apps.harness import Host, launch
from apps.reference_samples import copy_sample
from fake_openai import FakeOpenAI, azure_env, last_user_text, sample_script
from sample_drivers import SAMPLES, sample_host

from durable_functions.testing import OrchestrationTestEnv

pytestmark = pytest.mark.filterwarnings("ignore:azure.functions df_:DeprecationWarning")


def _host(sdist: Path, name: str, tmp_path: Path, switch: bool) -> Iterator[Host]:
    return sample_host(sdist, "samples-v2", name, tmp_path, switch)


def _start(host: Host, name: str, run: str = "run") -> str:
    """Start the sample's run ``run`` through its HTTP starter (``sample_drivers``)."""
    return SAMPLES[f"samples-v2/{name}"].runs[run].start(host)


@pytest.mark.e2e
def test_function_chaining(sdist: Path, tmp_path: Path, switch_import: bool) -> None:
    for host in _host(sdist, "function_chaining", tmp_path, switch_import):
        done = host.wait(_start(host, "function_chaining"))
        assert done["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"], done


@pytest.mark.e2e
def test_blueprint(sdist: Path, tmp_path: Path, switch_import: bool) -> None:
    for host in _host(sdist, "blueprint", tmp_path, switch_import):
        done = host.wait(_start(host, "blueprint"))
        assert done["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"], done
        hello = host.request("GET", "/api/HttpTrigger?name=Ann")
        assert hello.body == b"Hello, Ann. This HTTP triggered function executed successfully."


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("version", "activity"), [("1.0", "Hello from A!"), ("2.0", "Hello from B!")]
)
def test_orchestration_versioning(
    sdist: Path, tmp_path: Path, switch_import: bool, version: str, activity: str
) -> None:
    """Without a version, instances and sub-orchestrations get host.json's defaultVersion."""
    for host in _host(sdist, "orchestration_versioning", tmp_path, switch_import):
        run = SAMPLES["samples-v2/orchestration_versioning"].runs[version]
        instance = run.start(host)
        run.drive(host, instance)  # Continue, once it waits for it
        done = host.wait(instance)
        assert done["output"] == [
            f"Orchestration version: {version}",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 1.0",
            activity,
        ], done
        assert done["customStatus"] == "Continue event received"


# The files the sample backs up (only ``__init__.py`` and ``function.json`` under a
# path holding ``E2_``), with contents of different sizes, bytes beyond ASCII included.
SITE = {
    "E2_Alpha/__init__.py": b"import azure.functions\n" * 40,
    "E2_Alpha/function.json": b'{"bindings": []}\n',
    "E2_Beta/__init__.py": bytes(range(256)) * 3,
    "E2_Beta/function.json": b"{}",
}
NOT_BACKED_UP = {"E2_Alpha/readme.md": b"not a function file", "Other/__init__.py": b"x = 1\n"}


@pytest.mark.e2e
def test_fan_in_fan_out_backs_the_files_up_to_azurite(
    sdist: Path, tmp_path: Path, switch_import: bool, azurite_storage: str
) -> None:
    """The sample copies each file to the ``backups`` container and returns the bytes copied.

    ``AzureWebJobsStorage`` points at Azurite through ``local.settings.json``, as a user's would.
    """
    blob = azurite.blob_sdk()
    site = tmp_path / "site"
    for name, content in {**SITE, **NOT_BACKED_UP}.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(content)
    app_dir = copy_sample(
        sdist, "samples-v2", "fan_in_fan_out", tmp_path, switch_import=switch_import
    )
    settings = {"IsEncrypted": False, "Values": {"AzureWebJobsStorage": azurite_storage}}
    (app_dir / "local.settings.json").write_text(json.dumps(settings))
    host = launch(app_dir, tmp_path / "hub.sqlite3")
    try:
        reply = host.request("POST", "/api/orchestrators/E2_BackupSiteContent", json_body=str(site))
        assert reply.status == 202, (reply.status, reply.body, host.tail())
        done = host.wait(str(reply.json()["id"]))
    finally:
        host.stop()
    assert (done["runtimeStatus"], done["output"]) == (
        "Completed",
        sum(len(content) for content in SITE.values()),
    ), done
    service = blob.BlobServiceClient.from_connection_string(azurite_storage)
    backups = service.get_container_client("backups")
    copied = {b.name: backups.download_blob(b.name).readall() for b in backups.list_blobs()}
    assert copied == {name.replace("/", "_"): content for name, content in SITE.items()}


# Makes ``azure.storage`` unimportable in the host process, as where it is not installed.
_HIDE_AZURE_STORAGE = """
import sys

class HideAzureStorage:
    def find_spec(self, name, path=None, target=None):
        if name == "azure.storage" or name.startswith("azure.storage."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideAzureStorage())
"""


@pytest.mark.e2e
def test_fan_in_fan_out_without_azure_storage_blob_is_a_clear_start_up_error(
    sdist: Path, tmp_path: Path
) -> None:
    app_dir = copy_sample(sdist, "samples-v2", "fan_in_fan_out", tmp_path, switch_import=True)
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(_HIDE_AZURE_STORAGE)
    path = os.pathsep.join(p for p in (str(hide), os.environ.get("PYTHONPATH")) if p)
    started = subprocess.run(
        [sys.executable, "-m", "durable_functions", "start", "--port", "0"],
        cwd=app_dir,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "importing function_app.py failed: ModuleNotFoundError" in started.stderr
    assert "azure.storage" in started.stderr
    assert "Traceback" not in started.stderr.split("importing function_app.py failed")[-1]


@pytest.mark.usefixtures("isolated_function_app")
@pytest.mark.parametrize(
    ("version", "activity"), [(None, "Hello from A!"), ("2.0", "Hello from B!")]
)
def test_orchestration_versioning_in_the_harness(
    sdist: Path, tmp_path: Path, version: str | None, activity: str
) -> None:
    """The harness reads host.json's defaultVersion too, and ``run`` takes a version."""
    app_dir = copy_sample(
        sdist, "samples-v2", "orchestration_versioning", tmp_path, switch_import=True
    )
    env = OrchestrationTestEnv(app_dir / "function_app.py")
    result = env.run("my_orchestrator", events=[("Continue", None)], version=version)
    assert result.output == [
        f"Orchestration version: {version or '1.0'}",
        "Suborchestration version (explicit): 0.9",
        "Suborchestration version (default): 1.0",
        activity,
    ]


@pytest.fixture
def isolated_function_app() -> Iterator[None]:
    saved = list(sys.path)
    yield
    sys.path[:] = saved
    sys.modules.pop("function_app", None)


# -- openai_agents ---------------------------------------------------------------------

HAIKU = "Code calls itself, / smaller steps toward the base case, / then the stack unwinds."


def _history(host: Host, instance_id: str) -> list[dict[str, Any]]:
    reply = host.status(instance_id, "?showHistory=true&showHistoryOutput=true")
    return list(reply.json()["historyEvents"])


def _completed(history: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """(activity, result) of each TaskCompleted event, in order."""
    return [
        (event["FunctionName"], event["Result"])
        for event in history
        if event["EventType"] == "TaskCompleted"
    ]


def _agents_host(
    sdist: Path, tmp_path: Path, switch: bool, fake: FakeOpenAI, log_name: str = "host.log"
) -> Host:
    app_dir = tmp_path / "openai_agents"
    if not app_dir.exists():
        copy_sample(sdist, "samples-v2", "openai_agents", tmp_path, switch_import=switch)
    env = {**azure_env(fake.port), "TASKHUB_NAME": "default"}
    return launch(app_dir, tmp_path / "hub.sqlite3", env=env, log_name=log_name)


@pytest.fixture
def fake_model() -> Iterator[FakeOpenAI]:
    pytest.importorskip("agents", reason="the openai extra (openai-agents) is not installed")
    pytest.importorskip("azure.identity", reason="the sample authenticates with azure-identity")
    server = FakeOpenAI(sample_script)
    yield server
    server.close()


@pytest.mark.e2e
def test_openai_agents_hello_world_calls_the_model_through_run_model(
    sdist: Path, tmp_path: Path, switch_import: bool, fake_model: FakeOpenAI
) -> None:
    host = _agents_host(sdist, tmp_path, switch_import, fake_model)
    try:
        instance = _start(host, "openai_agents", "hello_world")
        done = host.wait(instance)
        history = _history(host, instance)
    finally:
        host.stop()
    assert (done["runtimeStatus"], done["output"]) == ("Completed", HAIKU), done
    [(name, result)] = _completed(history)
    assert name == "run_model"
    assert json.loads(result)["output"][0]["content"][0]["text"] == HAIKU
    [(path, body)] = fake_model.requests
    assert path == "/openai/responses"
    assert body["instructions"] == "You only respond in haikus."
    assert body["model"] == "fake-deployment"  # AZURE_OPENAI_DEPLOYMENT


@pytest.mark.e2e
def test_openai_agents_function_tools_and_activity_tools(
    sdist: Path, tmp_path: Path, fake_model: FakeOpenAI
) -> None:
    """``tools``: a function tool runs in the orchestrator; ``message_filter``: the
    ``random_number_tool`` activity is the agent's tool, and the model reports its number."""
    host = _agents_host(sdist, tmp_path, True, fake_model)
    try:
        tools = host.wait(_start_named(host, "tools"))
        message_filter = _start_named(host, "message_filter")
        done = host.wait(message_filter)
        history = _history(host, message_filter)
    finally:
        host.stop()
    assert tools["runtimeStatus"] == "Completed", tools
    assert tools["output"] == (
        "Tokyo now: city='Tokyo' temperature_range='14-20C' conditions='Sunny with wind.'"
    )
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"].startswith("You said: Por favor habla")
    steps = _completed(history)
    assert [name for name, _ in steps] == [
        "run_model",  # Hi, my name is Sora.
        "run_model",  # -> random_number_tool
        "random_number_tool",
        "run_model",  # Your number is N.
        "run_model",  # New York
        "run_model",  # Spanish
    ]
    number = steps[2][1]  # the status API gives results as JSON values
    said = json.loads(steps[3][1])["output"][0]["content"][0]["text"]
    assert said == f"Your number is {number}."
    # One model request per model step: replays took the earlier ones from history.
    assert len(fake_model.requests) == 2 + 5


def _start_named(host: Host, orchestrator: str) -> str:
    reply = host.request("POST", f"/api/orchestrators/{orchestrator}")
    assert reply.status == 202, (reply.status, reply.body, host.tail())
    return str(reply.json()["id"])


@pytest.mark.e2e
def test_openai_agents_after_a_host_restart_completed_model_steps_are_not_asked_again(
    sdist: Path, tmp_path: Path, fake_model: FakeOpenAI
) -> None:
    """The host is killed while the model answers ``message_filter``'s third question; a
    new host on the same file replays the first steps from history and asks only again what
    had no result."""
    gate, asked = threading.Event(), threading.Event()

    def gated(body: dict[str, Any]) -> dict[str, Any]:
        if "New York" in last_user_text(body) and not gate.is_set():
            asked.set()
            gate.wait(60)
        return sample_script(body)

    fake_model.script = gated
    first = _agents_host(sdist, tmp_path, True, fake_model, log_name="host-0.log")
    try:
        instance = _start_named(first, "message_filter")
        assert asked.wait(60), first.tail()
    finally:
        first.kill()
    gate.set()
    second = _agents_host(sdist, tmp_path, True, fake_model, log_name="host-1.log")
    try:
        done = second.wait(instance, timeout=60)
        history = _history(second, instance)
    finally:
        second.stop()
    assert done["runtimeStatus"] == "Completed", done
    questions = [last_user_text(body) for _, body in fake_model.requests]
    assert questions.count("Hi, my name is Sora.") == 1
    random_steps = [q for q in questions if "random number" in q]
    assert len(random_steps) == 2  # the tool call, then the answer: each once
    assert sum("New York" in q for q in questions) == 2  # killed mid-call, asked again
    assert sum("Por favor" in q for q in questions) == 1
    assert [name for name, _ in _completed(history)].count("random_number_tool") == 1
    assert re.search(r"Your number is \d+\.", json.dumps(history))
