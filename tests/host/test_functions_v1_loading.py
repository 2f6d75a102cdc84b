"""The v1 loader reads ``function.json`` folders and imports them as the Python worker does."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from durable_functions.errors import HostError
from durable_functions.host.functions import KIND_ACTIVITY, KIND_HTTP, KIND_OTHER
from durable_functions.host.functions_v1 import (
    APP_PACKAGE,
    FunctionLoadError,
    is_v1_app,
    load_any_app,
    load_v1_app,
)

pytestmark = pytest.mark.filterwarnings("ignore:azure.functions df_:DeprecationWarning")


@pytest.fixture(autouse=True)
def _fresh_app_package() -> Iterator[None]:
    """Each test's app is the ``__app__`` package only for that test."""
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name in [n for n in sys.modules if n == APP_PACKAGE or n.startswith(APP_PACKAGE + ".")]:
        del sys.modules[name]


def _function(
    app: Path, name: str, bindings: list[dict[str, Any]], code: str, **extra: Any
) -> None:
    folder = app / name
    folder.mkdir(parents=True)
    (folder / "function.json").write_text(json.dumps({"bindings": bindings, **extra}))
    (folder / str(extra.get("scriptFile", "__init__.py"))).write_text(code)


ACTIVITY = [{"name": "value", "type": "activityTrigger", "direction": "in"}]


def test_an_activity_runs_with_its_return_value(tmp_path: Path) -> None:
    _function(tmp_path, "Add", ACTIVITY, "def main(value):\n    return value + 1\n")
    app = load_v1_app(tmp_path)
    [fn] = app.functions
    assert (fn.name, fn.kind, fn.trigger_param) == ("Add", KIND_ACTIVITY, "value")
    assert app.invoke_activity("Add", "41") == "42"


def test_script_file_and_entry_point_are_honoured(tmp_path: Path) -> None:
    code = "def run(value):\n    return __name__\n"
    _function(tmp_path, "Named", ACTIVITY, code, scriptFile="impl.py", entryPoint="run")
    app = load_v1_app(tmp_path)
    assert json.loads(app.invoke_activity("Named", "1")) == "__app__.Named.impl"


def test_an_app_package_of_another_folder_is_replaced(tmp_path: Path) -> None:
    for name in ("one", "two"):
        _function(tmp_path / name, "Where", ACTIVITY, f"def main(value):\n    return {name!r}\n")
    assert load_v1_app(tmp_path / "one").invoke_activity("Where", "0") == '"one"'
    assert load_v1_app(tmp_path / "two").invoke_activity("Where", "0") == '"two"'


def test_an_http_function_gets_its_defaults(tmp_path: Path) -> None:
    bindings = [
        {"name": "req", "type": "httpTrigger", "direction": "in"},
        {"name": "$return", "type": "http", "direction": "out"},
    ]
    _function(tmp_path, "Hello", bindings, "def main(req):\n    return 'hi'\n")
    [fn] = load_v1_app(tmp_path).functions
    assert (fn.kind, fn.route, fn.methods, fn.auth_level) == (KIND_HTTP, "Hello", (), "function")
    assert fn.http_output is None


def test_other_triggers_are_indexed_but_not_run(tmp_path: Path) -> None:
    bindings = [{"name": "msg", "type": "queueTrigger", "direction": "in", "queueName": "q"}]
    _function(tmp_path, "Queue", bindings, "def main(msg):\n    pass\n")
    _function(tmp_path, "Add", ACTIVITY, "def main(value):\n    return value\n")
    app = load_v1_app(tmp_path)
    assert [(f.name, f.kind) for f in app.functions] == [("Add", "activity"), ("Queue", KIND_OTHER)]


def test_a_context_parameter_that_is_no_binding_gets_the_invocation_context(tmp_path: Path) -> None:
    code = "def main(value, context):\n    return context.function_directory\n"
    _function(tmp_path, "Where", ACTIVITY, code)
    app = load_v1_app(tmp_path)
    assert json.loads(app.invoke_activity("Where", "0")) == str((tmp_path / "Where").resolve())


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "def main(other):\n    pass\n",
            "the following parameters are declared in Python but not in function.json: {'other'}",
        ),
        (
            "def main():\n    pass\n",
            "the following parameters are declared in function.json but not in Python: {'value'}",
        ),
        ("def run(value):\n    pass\n", "function main() is not present in Broken/__init__.py"),
        (
            "import no_such_module_xyz\n",
            "ModuleNotFoundError: No module named 'no_such_module_xyz'",
        ),
    ],
)
def test_a_function_that_cannot_load_fails_when_called(
    tmp_path: Path, code: str, message: str
) -> None:
    _function(tmp_path, "Broken", ACTIVITY, code)
    _function(tmp_path, "Fine", ACTIVITY, "def main(value):\n    return value\n")
    app = load_v1_app(tmp_path)  # the others still load, as in Azure
    assert app.invoke_activity("Fine", "3") == "3"
    with pytest.raises(FunctionLoadError) as raised:
        app.invoke_activity("Broken", "1")
    assert str(raised.value) == f"cannot load the Broken function: {message}"


def test_a_script_that_is_not_python_cannot_load(tmp_path: Path) -> None:
    _function(tmp_path, "Js", ACTIVITY, "module.exports = 1", scriptFile="index.js")
    with pytest.raises(FunctionLoadError, match="invalid Python filename Js/index.js"):
        load_v1_app(tmp_path).invoke_activity("Js", "1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "cannot read Bad/function.json"),
        ("[]", "must be an object with a bindings list"),
        ('{"bindings": [{"name": "x"}]}', "every binding needs a type"),
        ('{"bindings": [{"type": "activityTrigger"}]}', "the activityTrigger binding needs a name"),
        ('{"bindings": []}', "exactly one trigger, found 0"),
    ],
)
def test_a_bad_function_json_is_a_clear_host_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "Bad").mkdir()
    (tmp_path / "Bad" / "function.json").write_text(text)
    with pytest.raises(HostError, match=message):
        load_any_app(tmp_path)


def test_disabled_functions_are_skipped(tmp_path: Path) -> None:
    _function(tmp_path, "Off", ACTIVITY, "def main(value):\n    pass\n", disabled=True)
    _function(tmp_path, "On", ACTIVITY, "def main(value):\n    pass\n")
    assert [f.name for f in load_v1_app(tmp_path).functions] == ["On"]


def test_function_app_py_wins_over_function_json_folders(tmp_path: Path) -> None:
    _function(tmp_path, "Old", ACTIVITY, "def main(value):\n    pass\n")
    assert is_v1_app(tmp_path)
    (tmp_path / "function_app.py").write_text("x = 1\n")
    assert not is_v1_app(tmp_path)
    sys.modules.pop("function_app", None)
    try:
        with pytest.raises(HostError, match="no FunctionApp"):
            load_any_app(tmp_path)
    finally:
        sys.modules.pop("function_app", None)


def test_an_empty_folder_is_a_host_error(tmp_path: Path) -> None:
    with pytest.raises(HostError, match="no function_app.py"):
        load_any_app(tmp_path)


def test_bindings_the_host_does_not_run_get_none_or_a_logged_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bindings = [
        *ACTIVITY,
        {"name": "blob", "type": "blob", "direction": "in", "path": "x/{name}"},
        {"name": "queue", "type": "queue", "direction": "out", "queueName": "q"},
    ]
    code = "def main(value, blob, queue):\n    queue.set(['sent', value])\n    return blob\n"
    _function(tmp_path, "Out", bindings, code)
    app = load_v1_app(tmp_path)
    with caplog.at_level("INFO", logger="durable_functions.host"):
        assert app.invoke_activity("Out", "7") == "null"
    assert (
        "Out: output binding 'queue' (queue) is not run by the local host; value: ['sent', 7]"
        in caplog.text
    )
