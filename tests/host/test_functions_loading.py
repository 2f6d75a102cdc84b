"""The host indexes function_app.py like the worker and reads the app's configuration files."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from apps.harness import copy_app

from durable_functions.errors import FunctionNotFoundError, HostError
from durable_functions.host.functions import LoadedApp, load_app
from durable_functions.host.settings import DEFAULT_HUB, load_settings

# azure-functions' df_loads warns once per process when called without an expected type,
# exactly as it does in the worker; that is its business, not a failure here.
pytestmark = pytest.mark.filterwarnings("ignore:azure.functions df_:DeprecationWarning")


@pytest.fixture
def isolated_import() -> Iterator[None]:
    """Every test imports its own ``function_app`` module."""
    saved_path = list(sys.path)
    yield
    sys.modules.pop("function_app", None)
    sys.path[:] = saved_path


def _app(tmp_path: Path, name: str = "sdk_app") -> LoadedApp:
    sys.modules.pop("function_app", None)
    return load_app(copy_app(name, tmp_path))


@pytest.mark.usefixtures("isolated_import")
@pytest.mark.parametrize("name", ["sdk_app", "ref_app"])
def test_every_function_is_indexed_with_its_kind(tmp_path: Path, name: str) -> None:
    app = _app(tmp_path, name)
    kinds = {fn.name: fn.kind for fn in app.functions}
    assert kinds["chain"] == "orchestrator"
    assert kinds["add_one"] == "activity"
    assert kinds["counter"] == "entity"
    assert kinds["hello"] == "http"
    assert "logged_fan_out" in app.known_orchestrators()


@pytest.mark.usefixtures("isolated_import")
def test_http_functions_carry_route_methods_and_client_binding(tmp_path: Path) -> None:
    app = _app(tmp_path)
    starter = app.find("http", "http_start")
    assert (starter.route, starter.methods, starter.client_param) == (
        "orchestrators/{name}/{instance_id?}",
        ("POST",),
        "client",
    )
    assert app.find("http", "secret").auth_level == "function"


@pytest.mark.usefixtures("isolated_import")
@pytest.mark.parametrize("name", ["sdk_app", "ref_app"])
def test_an_activity_is_invoked_through_the_converters(tmp_path: Path, name: str) -> None:
    app = _app(tmp_path, name)
    assert app.invoke_activity("add_one", "41") == "42"


@pytest.mark.usefixtures("isolated_import")
def test_an_async_activity_runs_on_the_event_loop(tmp_path: Path) -> None:
    app = _app(tmp_path)
    assert app.invoke_activity("add_one_async", "1") == "2"


@pytest.mark.usefixtures("isolated_import")
def test_an_activity_exception_propagates_unchanged(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with pytest.raises(RuntimeError, match="attempt 1 failed"):
        app.invoke_activity("flaky", json.dumps(str(uuid.uuid4())))


@pytest.mark.usefixtures("isolated_import")
def test_an_entity_batch_is_invoked_through_the_entity_context(tmp_path: Path) -> None:
    app = _app(tmp_path, "ref_app")
    batch = {
        "self": {"name": "counter", "key": "k"},
        "exists": True,
        "state": "5",
        "batch": [{"name": "get", "input": None, "isSignal": False}],
    }
    result = json.loads(app.invoke_entity("counter", json.dumps(batch)))
    assert result["results"][0]["result"] == "5"


@pytest.mark.usefixtures("isolated_import")
def test_an_unknown_function_name_lists_the_known_ones(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with pytest.raises(FunctionNotFoundError, match="add_one"):
        app.invoke_activity("nope", "1")


def test_a_folder_without_function_app_is_a_host_error(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="no function_app.py"):
        load_app(tmp_path)


def test_the_v2_loader_points_a_v1_app_at_the_v1_loader(tmp_path: Path) -> None:
    (tmp_path / "MyFunction").mkdir()
    (tmp_path / "MyFunction" / "function.json").write_text("{}")
    with pytest.raises(HostError, match="v1 .*load_any_app"):
        load_app(tmp_path)


@pytest.mark.usefixtures("isolated_import")
def test_an_app_that_fails_to_import_is_a_host_error_naming_the_cause(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("raise ImportError('missing dependency xyz')\n")
    sys.modules.pop("function_app", None)
    with pytest.raises(HostError, match="missing dependency xyz"):
        load_app(tmp_path)


@pytest.mark.usefixtures("isolated_import")
def test_an_app_without_a_function_app_object_is_a_host_error(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("x = 1\n")
    sys.modules.pop("function_app", None)
    with pytest.raises(HostError, match="no FunctionApp"):
        load_app(tmp_path)


# ----------------------------------------------------------------------------- settings


def test_local_settings_values_are_exported_without_overriding_the_environment(
    tmp_path: Path,
) -> None:
    (tmp_path / "local.settings.json").write_text(
        json.dumps({"Values": {"A": "from-file", "B": "from-file"}})
    )
    env = {"B": "from-env"}
    load_settings(tmp_path, environ=env)
    assert env == {"A": "from-file", "B": "from-env"}


def test_the_hub_name_resolves_percent_variables_from_settings(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"HUB": "Mine"}}))
    (tmp_path / "host.json").write_text(
        json.dumps({"extensions": {"durableTask": {"hubName": "%HUB%x"}}})
    )
    assert load_settings(tmp_path, environ={}).hub_name == "Minex"


def test_an_undefined_hub_variable_is_a_host_error(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        json.dumps({"extensions": {"durableTask": {"hubName": "%NOPE%"}}})
    )
    with pytest.raises(HostError, match="NOPE"):
        load_settings(tmp_path, environ={})


def test_durable_task_settings_are_read_from_host_json(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        json.dumps(
            {
                "extensions": {
                    "durableTask": {
                        "defaultVersion": "2.0",
                        "maxConcurrentActivityFunctions": 3,
                        "maxConcurrentOrchestratorFunctions": 2,
                        "storageProvider": {"type": "mssql"},
                    },
                    "http": {"routePrefix": "/v2/"},
                }
            }
        )
    )
    settings = load_settings(tmp_path, environ={})
    assert (
        settings.hub_name,
        settings.default_version,
        settings.max_concurrent_activities,
        settings.max_concurrent_orchestrations,
        settings.route_prefix,
    ) == (DEFAULT_HUB, "2.0", 3, 2, "v2")
    assert any("storageProvider" in note for note in settings.notes)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("{broken", id="invalid-json"),
        pytest.param("[]", id="not-an-object"),
        pytest.param(
            '{"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 0}}}',
            id="bad-limit",
        ),
    ],
)
def test_a_bad_host_json_is_a_host_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "host.json").write_text(content)
    with pytest.raises(HostError):
        load_settings(tmp_path, environ={})
