"""Our loader refuses what Azure's Python worker refuses, and fills output bindings as it does.

Found by comparing the loader with Microsoft's worker runtime (test_worker_engines.py, which
runs on Python 3.13 only); these checks hold on every Python the loader supports.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_functions.errors import HostError
from durable_functions.host.functions import load_app

# azure-functions' df_loads warns once per process without an expected type, as in the worker.
pytestmark = pytest.mark.filterwarnings("ignore:azure.functions df_:DeprecationWarning")
HEADER = "import azure.functions as func\nimport durable_functions as df\napp = df.DFApp()\n"
ACTIVITY = "@app.activity_trigger(input_name='v')\n"


@pytest.fixture
def app_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder for one ``function_app.py``, imported afresh."""
    saved_path = list(sys.path)
    sys.modules.pop("function_app", None)
    yield tmp_path
    sys.modules.pop("function_app", None)
    sys.path[:] = saved_path


def _load(app_dir: Path, body: str) -> object:
    (app_dir / "function_app.py").write_text(HEADER + body)
    return load_app(app_dir)


def test_two_function_app_objects_are_refused(app_dir: Path) -> None:
    body = "other = func.FunctionApp()\n" + ACTIVITY + "def a(v):\n    return v\n"
    with pytest.raises(HostError, match="More than one DFApp or other top level function app"):
        _load(app_dir, body)


def test_a_parameter_without_a_binding_is_refused(app_dir: Path) -> None:
    body = "@app.activity_trigger(input_name='v')\ndef a(v, extra):\n    return v\n"
    with pytest.raises(HostError, match=r"declared in Python but not in the function definition"):
        _load(app_dir, body)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="list[str] is a class before 3.11")
@pytest.mark.parametrize("annotation", ["list[str]", "dict[str, int]", "int | None"])
def test_a_builtin_generic_annotation_is_refused(app_dir: Path, annotation: str) -> None:
    body = f"@app.activity_trigger(input_name='v')\ndef a(v: {annotation}):\n    return v\n"
    with pytest.raises(HostError, match="binding v has invalid non-type annotation"):
        _load(app_dir, body)


@pytest.mark.parametrize("annotation", ["list", "typing.List[str]", "typing.Dict[str, int]"])
def test_classes_and_typing_generics_are_accepted(app_dir: Path, annotation: str) -> None:
    body = "import typing\n" + ACTIVITY + f"def a(v: {annotation}):\n    return v\n"
    _load(app_dir, body)


def test_a_context_parameter_needs_no_binding(app_dir: Path) -> None:
    body = "@app.activity_trigger(input_name='v')\ndef a(v, context: func.Context):\n    return v\n"
    _load(app_dir, body)


def test_an_output_binding_parameter_gets_an_out_holder(app_dir: Path) -> None:
    body = (
        "@app.activity_trigger(input_name='v')\n"
        "@app.queue_output(arg_name='msg', queue_name='q', connection='AzureWebJobsStorage')\n"
        "def a(v: str, msg: func.Out[str]) -> str:\n"
        "    msg.set(v + '!')\n"
        "    return msg.get()\n"
    )
    app = _load(app_dir, body)
    assert app.invoke_activity("a", '"hi"') == '"hi!"'  # type: ignore[attr-defined]
