"""Configuration checks: Extension Bundles v1 and legacy function.json apps (protocol §10)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from durable_functions.errors import DurableFunctionsCompatibilityWarning
from durable_functions.validation import validate_extension_bundles, validate_v1_programming_model


def write_host_json(folder: Path, bundle_version: str | None = "[4.*, 5.0.0)") -> None:
    settings: dict[str, object] = {"version": "2.0"}
    if bundle_version is not None:
        settings["extensionBundle"] = {
            "id": "Microsoft.Azure.Functions.ExtensionBundle",
            "version": bundle_version,
        }
    (folder / "host.json").write_text(json.dumps(settings))


def make_v1_app(folder: Path) -> None:
    write_host_json(folder)
    (folder / "HttpStart").mkdir()
    (folder / "HttpStart" / "function.json").write_text('{"bindings": []}')


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AzureWebJobsScriptRoot", raising=False)
    return tmp_path


def assert_no_warning(check: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check()  # type: ignore[operator]


def test_bundles_v1_range_is_warned_about(app_dir: Path) -> None:
    write_host_json(app_dir, "[1.*, 2.0.0)")
    with pytest.warns(UserWarning, match="Extension Bundles V1"):
        validate_extension_bundles()


def test_current_bundles_are_not_warned_about(app_dir: Path) -> None:
    write_host_json(app_dir, "[4.*, 5.0.0)")
    assert_no_warning(validate_extension_bundles)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="no-host-json"),
        pytest.param("{not json", id="invalid-json"),
        pytest.param("[]", id="not-an-object"),
    ],
)
def test_unreadable_or_missing_host_json_is_ignored(app_dir: Path, content: str | None) -> None:
    if content is not None:
        (app_dir / "host.json").write_text(content)
    assert_no_warning(validate_extension_bundles)


def test_host_json_without_bundle_is_ignored(app_dir: Path) -> None:
    write_host_json(app_dir, None)
    assert_no_warning(validate_extension_bundles)


def test_function_json_app_is_warned_about(app_dir: Path) -> None:
    make_v1_app(app_dir)
    with pytest.warns(DurableFunctionsCompatibilityWarning, match="v1 programming model"):
        validate_v1_programming_model()


def test_v2_app_is_not_warned_about(app_dir: Path) -> None:
    write_host_json(app_dir)
    (app_dir / "function_app.py").write_text("")
    assert_no_warning(validate_v1_programming_model)


def test_folder_without_host_json_is_not_an_app(app_dir: Path) -> None:
    (app_dir / "fn").mkdir()
    (app_dir / "fn" / "function.json").write_text("{}")
    assert_no_warning(validate_v1_programming_model)


def test_script_root_setting_locates_the_app(
    app_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path_factory.mktemp("app")
    make_v1_app(elsewhere)
    monkeypatch.setenv("AzureWebJobsScriptRoot", str(elsewhere))
    with pytest.warns(DurableFunctionsCompatibilityWarning):
        validate_v1_programming_model()


@pytest.mark.parametrize(
    "requirement",
    [
        "azure-functions-durable==1.7.0",
        "azure-functions-durable<2",
        "azure_functions_durable ~= 1.2",
        "azure-functions-durable<=1.9",
        "azure-functions-durable>=1.2,<2.0  # pinned",
    ],
)
def test_pinning_the_sdk_below_2_silences_the_v1_warning(app_dir: Path, requirement: str) -> None:
    make_v1_app(app_dir)
    (app_dir / "requirements.txt").write_text(f"azure-functions\n{requirement}\n")
    assert_no_warning(validate_v1_programming_model)


@pytest.mark.parametrize(
    "requirement",
    [
        "azure-functions-durable",
        "azure-functions-durable>=1.2",
        "azure-functions-durable<3",
        "azure-functions-durable==1.7; python_version < '3.12'",
    ],
)
def test_requirements_that_allow_2_keep_the_v1_warning(app_dir: Path, requirement: str) -> None:
    make_v1_app(app_dir)
    (app_dir / "requirements.txt").write_text(requirement + "\n")
    with pytest.warns(DurableFunctionsCompatibilityWarning):
        validate_v1_programming_model()


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "requirement",
    [
        "azure-functions-durable<2.0.0",
        "azure-functions-durable<2.1",
        "azure-functions-durable===1.0",
        "azure-functions-durable!=2.0",
    ],
)
def test_requirement_pins_are_read_as_the_reference_reads_them(
    app_dir: Path, requirement: str
) -> None:
    import azure.durable_functions as reference

    make_v1_app(app_dir)
    (app_dir / "requirements.txt").write_text(requirement + "\n")
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        reference.validate_v1_programming_model()
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        validate_v1_programming_model()
    assert [w.category.__name__ for w in ours] == [w.category.__name__ for w in theirs]
