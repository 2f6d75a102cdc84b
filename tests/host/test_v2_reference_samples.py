"""The reference SDK's ``samples-v2`` apps complete on ``durable start`` as their code documents.

Each runs switched to ``durable_functions`` (``ours``) and unmodified on the installed
reference SDK (``reference``), driven as ``sample_drivers`` describes.
``fan_in_fan_out`` needs ``azure-storage-blob`` and an Azure Storage account: without the
package its ``function_app.py`` cannot be imported, which the host reports as a start-up
error. ``openai_agents`` needs Azure OpenAI, the OpenAI Agents SDK and the reference's
preview ``durable_openai_agent_orchestrator`` (not provided here, see
docs/compatibility.md): it is not run.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apps.harness import Host, launch
from apps.reference_samples import copy_sample
from sample_drivers import SAMPLES

from durable_functions.testing import OrchestrationTestEnv

pytestmark = pytest.mark.filterwarnings("ignore:azure.functions df_:DeprecationWarning")


def _host(sdist: Path, name: str, tmp_path: Path, switch: bool) -> Iterator[Host]:
    app_dir = copy_sample(sdist, "samples-v2", name, tmp_path, switch_import=switch)
    host = launch(app_dir, tmp_path / "hub.sqlite3")
    try:
        yield host
    finally:
        host.stop()


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


@pytest.mark.e2e
@pytest.mark.skipif(
    importlib.util.find_spec("azure.storage") is not None, reason="azure-storage-blob is installed"
)
def test_fan_in_fan_out_without_azure_storage_blob_is_a_clear_start_up_error(
    sdist: Path, tmp_path: Path
) -> None:
    app_dir = copy_sample(sdist, "samples-v2", "fan_in_fan_out", tmp_path, switch_import=True)
    started = subprocess.run(
        [sys.executable, "-m", "durable_functions", "start", "--port", "0"],
        cwd=app_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "importing function_app.py failed: ModuleNotFoundError" in started.stderr
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
