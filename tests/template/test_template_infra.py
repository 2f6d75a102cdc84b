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
MODULE = re.compile(r"^module (\w+) '([^']+)' = (?:if \((\w+)\) )?\{$", re.MULTILINE)


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


def conditions(main: str) -> dict[str, str]:
    """Module symbol -> the parameter its deployment depends on (conditional modules only)."""
    return {m.group(1): m.group(3) for m in MODULE.finditer(main) if m.group(3)}


def allowed(bicep: str, name: str) -> list[str]:
    """The values of the @allowed list decorating ``param name``."""
    head = bicep[: bicep.index(f"\nparam {name} ")]
    listed = head[head.rindex("@allowed([") :]
    return re.findall(r"'([^']+)'", listed[: listed.index("])")])


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


@pytest.mark.parametrize("python", ["3.11", "3.13"])
def test_app_runs_on_flex_consumption_with_the_chosen_python(render: Render, python: str) -> None:
    app = render("cookiecutter", python_version=python)
    api = (app / "infra" / "app" / "api.bicep").read_text()
    main = (app / "infra" / "main.bicep").read_text()
    assert "name: 'FC1'" in api and "tier: 'FlexConsumption'" in api
    assert f"param pythonVersion string = '{python}'" in main


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


# The regions listed for Flex Consumption by Microsoft's azd quickstart for Durable Functions in
# Python (Azure-Samples/durable-functions-quickstart-python-azd, infra/main.bicep), without its
# canary region; see docs/template.md.
FLEX_REGIONS = {
    "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral", "centralindia",
    "centralus", "eastasia", "eastus", "eastus2", "francecentral", "germanywestcentral",
    "italynorth", "japaneast", "koreacentral", "northcentralus", "northeurope", "norwayeast",
    "southafricanorth", "southcentralus", "southeastasia", "southindia", "spaincentral",
    "swedencentral", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westus",
    "westus2", "westus3",
}  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_location_is_limited_to_flex_consumption_regions(render: Render, backend: str) -> None:
    main = (infra(render, backend) / "main.bicep").read_text()
    assert set(allowed(main, "location")) == FLEX_REGIONS


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_vnet_is_optional_and_off_by_default(render: Render, backend: str) -> None:
    root = infra(render, backend)
    main = (root / "main.bicep").read_text()
    assert "param vnetEnabled bool = false" in main
    assert conditions(main) == {"vnet": "vnetEnabled", "storagePrivateEndpoints": "vnetEnabled"}
    given = json.loads((root / "main.parameters.json").read_text())["parameters"]
    assert given["vnetEnabled"] == {"value": "${VNET_ENABLED=false}"}
    assert "virtualNetworkSubnetId: vnetEnabled ? vnet.outputs.appSubnetId : ''" in main
    assert "publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'" in main


def test_the_vnet_reaches_storage_through_private_endpoints(render: Render) -> None:
    app_infra = infra(render, "azure_storage") / "app"
    endpoints = (app_infra / "storage-private-endpoints.bicep").read_text()
    assert "var services = ['blob', 'queue', 'table']" in endpoints
    assert "privatelink.${service}.${environment().suffixes.storage}" in endpoints
    vnet = (app_infra / "vnet.bicep").read_text()
    assert "serviceName: 'Microsoft.App/environments'" in vnet


@pytest.mark.parametrize("backend", BACKENDS)
def test_role_assignments_default_to_the_deployer_with_its_principal_type(
    render: Render, backend: str
) -> None:
    root = infra(render, backend)
    main = (root / "main.bicep").read_text()
    assert "param principalId string = deployer().objectId" in main
    assert allowed(main, "principalType") == ["User", "ServicePrincipal", "Group"]
    assert "userPrincipalType: principalType" in main
    given = json.loads((root / "main.parameters.json").read_text())["parameters"]
    assert given["principalType"] == {"value": "${AZURE_PRINCIPAL_TYPE=User}"}
    rbac = (root / "app" / "rbac.bicep").read_text()
    assert "principalType: 'User'" not in rbac
    user_roles = re.findall(r"principalId: userPrincipalId\n\s+principalType: (\w+)", rbac)
    assert user_roles and set(user_roles) == {"userPrincipalType"}


def flex_python_versions() -> list[str]:
    """FLEX_PYTHON_VERSIONS from the pre-generation hook (the rule the generators enforce)."""
    hook = (ROOT / "template" / "hooks" / "pre_gen_project.py").read_text()
    found = re.search(r"^FLEX_PYTHON_VERSIONS = \(([^)]*)\)$", hook, re.M)
    assert found
    return re.findall(r'"([^"]+)"', found.group(1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_azd_infra_offers_the_pythons_flex_consumption_runs(render: Render, backend: str) -> None:
    main = (infra(render, backend) / "main.bicep").read_text()
    assert allowed(main, "pythonVersion") == flex_python_versions()
    assert flex_python_versions() == ["3.10", "3.11", "3.12", "3.13"]


def test_copier_states_the_same_flex_consumption_pythons() -> None:
    copier_yml = (ROOT / "copier.yml").read_text()
    found = re.search(r"include_azd_infra and python_version not in \[([^\]]*)\]", copier_yml)
    assert found
    assert re.findall(r"'([^']+)'", found.group(1)) == flex_python_versions()
    versions = ", ".join(flex_python_versions())
    assert f"Flex Consumption runs Python {versions}; choose one" in copier_yml


def test_mssql_uses_sql_authentication_with_the_password_in_key_vault(render: Render) -> None:
    root = infra(render, "mssql")
    main = (root / "main.bicep").read_text()
    sql = (root / "app" / "sql.bicep").read_text()
    vault = (root / "app" / "keyvault.bicep").read_text()
    api = (root / "app" / "api.bicep").read_text()
    everything = "\n".join(p.read_text() for p in root.rglob("*.bicep"))
    assert "@secure()\n@description" in main and "param sqlAdminPassword string\n" in main
    assert "administratorLoginPassword: adminPassword" in sql
    assert "Active Directory" not in everything and "azureADOnlyAuthentication" not in everything
    assert "Password=${sqlAdminPassword}" in vault and "enableRbacAuthorization: true" in vault
    assert "SQLDB_Connection: '@Microsoft.KeyVault(SecretUri=${sqlConnectionSecretUri})'" in api
    assert "keyVaultReferenceIdentity: identityId" in api
    assert "Password" not in api.replace("sqlConnectionSecretUri", "")
    given = json.loads((root / "main.parameters.json").read_text())["parameters"]
    assert given["sqlAdminPassword"]["value"].startswith("$(secretOrRandomPassword ")
    assert "output AZURE_KEY_VAULT_NAME string" in main


def test_mssql_database_has_the_providers_collation(render: Render) -> None:
    root = render("cookiecutter", durable_backend="mssql")
    assert "collation: 'Latin1_General_100_BIN2_UTF8'" in (root / "infra/app/sql.bicep").read_text()
    assert 'MSSQL_COLLATION: "Latin1_General_100_BIN2_UTF8"' in (root / "compose.yaml").read_text()


def test_the_app_can_read_its_sql_secret(render: Render) -> None:
    rbac = (infra(render, "mssql") / "app" / "rbac.bicep").read_text()
    assert "4633458b-17de-408a-b874-0445c86b69e6" in rbac  # Key Vault Secrets User


@pytest.mark.parametrize("backend", ["azure_storage", "durable_task_scheduler"])
def test_other_back_ends_get_no_key_vault(render: Render, backend: str) -> None:
    root = infra(render, backend)
    assert not (root / "app" / "keyvault.bicep").exists()
    assert "sqlAdminPassword" not in (root / "main.parameters.json").read_text()
