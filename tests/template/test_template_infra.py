"""The azd files hang together: no Bicep compiler needed to catch a broken reference."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from template_kit import BACKENDS, ROOT, Render

pytestmark = pytest.mark.e2e

PARAM = re.compile(r"^param (\w+) \w+( = .+)?$", re.MULTILINE)
OUTPUT = re.compile(r"^output (\w+) ", re.MULTILINE)
MODULE = re.compile(r"^module (\w+) '([^']+)' = \{$", re.MULTILINE)


def params(bicep: str) -> dict[str, bool]:
    """Parameter name -> whether it has a default."""
    return {name: bool(default) for name, default in PARAM.findall(bicep)}


def block(text: str, start: int) -> str:
    """The text of the ``{ ... }`` block opening at or after ``start``."""
    opening = text.index("{", start)
    depth = 0
    for index in range(opening, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[opening : index + 1]
    raise AssertionError("unbalanced braces")


def modules(main: str) -> dict[str, tuple[str, set[str]]]:
    """Module symbol -> (file, names of the params main.bicep passes it)."""
    found = {}
    for match in MODULE.finditer(main):
        body = block(main, match.end() - 1)
        passed = block(body, body.index("params:"))
        found[match.group(1)] = (match.group(2), set(re.findall(r"^\s{4}(\w+):", passed, re.M)))
    return found


def infra(render: Render, backend: str) -> Path:
    return render("cookiecutter", durable_backend=backend) / "infra"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_referenced_module_exists(render: Render, backend: str) -> None:
    root = infra(render, backend)
    found = modules((root / "main.bicep").read_text())
    assert {"identity", "monitoring", "storage", "api", "rbac"} <= set(found)
    for file, _passed in found.values():
        assert (root / file).is_file(), file


@pytest.mark.parametrize("backend", BACKENDS)
def test_modules_get_exactly_their_declared_parameters(render: Render, backend: str) -> None:
    root = infra(render, backend)
    for symbol, (file, passed) in modules((root / "main.bicep").read_text()).items():
        declared = params((root / file).read_text())
        required = {name for name, has_default in declared.items() if not has_default}
        assert passed <= set(declared), f"{symbol}: unknown {passed - set(declared)}"
        assert required <= passed, f"{symbol}: missing {required - passed}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_module_outputs_used_by_main_exist(render: Render, backend: str) -> None:
    root = infra(render, backend)
    main = (root / "main.bicep").read_text()
    files = {symbol: file for symbol, (file, _passed) in modules(main).items()}
    for symbol, output in set(re.findall(r"\b(\w+)\.outputs\.(\w+)", main)):
        assert output in OUTPUT.findall((root / files[symbol]).read_text()), f"{symbol}.{output}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_parameters_file_matches_main_bicep(render: Render, backend: str) -> None:
    root = infra(render, backend)
    declared = params((root / "main.bicep").read_text())
    given = set(json.loads((root / "main.parameters.json").read_text())["parameters"])
    assert given <= set(declared)
    assert {name for name, has_default in declared.items() if not has_default} <= given


@pytest.mark.parametrize("backend", BACKENDS)
def test_app_settings_cover_what_host_json_reads(render: Render, backend: str) -> None:
    app = render("cookiecutter", durable_backend=backend)
    host = (app / "host.json").read_text()
    needed = set(re.findall(r"%(\w+)%", host)) | set(
        re.findall(r'"connectionStringName": "(\w+)"', host)
    )
    api = (app / "infra" / "app" / "api.bicep").read_text()
    settings = set(
        re.findall(r"^\s{6}(\w+): ", block(api, api.index("properties: {\n      Azure")), re.M)
    )
    assert needed <= settings
    assert {
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
    } <= settings


def test_storage_allows_no_shared_keys(render: Render) -> None:
    storage = (infra(render, "azure_storage") / "app" / "storage.bicep").read_text()
    assert "allowSharedKeyAccess: false" in storage


def test_app_runs_on_flex_consumption_with_the_chosen_python(render: Render) -> None:
    app = render("cookiecutter", python_version="3.11")
    api = (app / "infra" / "app" / "api.bicep").read_text()
    main = (app / "infra" / "main.bicep").read_text()
    assert "name: 'FC1'" in api and "tier: 'FlexConsumption'" in api
    assert "param pythonVersion string = '3.11'" in main


def test_durable_task_scheduler_gets_a_scheduler_task_hub_and_role(render: Render) -> None:
    root = infra(render, "durable_task_scheduler")
    dts = (root / "app" / "dts.bicep").read_text()
    assert "Microsoft.DurableTask/schedulers@" in dts and "schedulers/taskHubs@" in dts
    assert "0ad04412-c4d5-4796-b79c-f76d14c8d402" in (root / "app" / "rbac.bicep").read_text()


@pytest.mark.parametrize("backend", ["azure_storage", "mssql"])
def test_other_back_ends_get_no_scheduler(render: Render, backend: str) -> None:
    assert not (infra(render, backend) / "app" / "dts.bicep").exists()


def test_azure_yaml_service_matches_the_app_tag(render: Render) -> None:
    app = render("cookiecutter", project_slug="orders_app")
    azure_yaml = (app / "azure.yaml").read_text()
    assert "name: orders-app\n" in azure_yaml and "  api:\n" in azure_yaml
    assert "'azd-service-name': 'api'" in (app / "infra" / "app" / "api.bicep").read_text()


def test_every_template_file_is_tracked_by_git() -> None:
    """Copier clones the template from git: an untracked template file never reaches an app."""
    tracked = set(
        subprocess.run(
            ["git", "ls-files", "template"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    )
    on_disk = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "template").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert on_disk - tracked == set()
