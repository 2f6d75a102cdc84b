"""The deploy package: what `.funcignore` lets through is the app and the SDK's runtime only.

Core Tools and azd read `.funcignore` with .gitignore rules; the file list is computed the same
way here, then imported on its own as the Functions host would import it.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from template_kit import Render

pytestmark = pytest.mark.e2e

LOCAL_ONLY = [
    "durable_functions/host/",
    "durable_functions/testing/",
    "durable_functions/cli.py",
    "durable_functions/scaffold.py",
    "durable_functions/__main__.py",
    "tests/",
    "local.settings.json",
    "infra/",
    ".durable-template.json",
    "requirements-dev.txt",
]
IMPORT_CHECK = """
import os, sys
sys.path.insert(0, os.getcwd())
from function_app import app
import durable_functions
assert durable_functions.__file__.startswith(os.getcwd()), durable_functions.__file__
names = sorted(f.get_function_name() for f in app.get_functions())
local = {"host", "testing", "cli", "scaffold", "__main__"}
loaded = [m.split(".") for m in sys.modules if m.startswith("durable_functions.")]
print(len(names), sorted(".".join(parts) for parts in loaded if parts[1] in local))
"""


def patterns(app: Path) -> list[tuple[str, bool, bool]]:
    """(.funcignore pattern, directories only, anchored to the app root) in file order."""
    found = []
    for raw in (app / ".funcignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        found.append((line.lstrip("/"), dir_only, anchored))
    return found


def is_ignored(rel: str, is_dir: bool, rules: list[tuple[str, bool, bool]]) -> bool:
    ignored = False
    for pattern, dir_only, anchored in rules:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if dir_only and not is_dir:
            continue
        subject = rel if anchored else rel.rsplit("/", 1)[-1]
        if fnmatch.fnmatchcase(subject, pattern):
            ignored = not negate
    return ignored


def deploy_files(app: Path) -> list[str]:
    """The files a deployment packages: everything .funcignore does not exclude."""
    rules = patterns(app)
    kept = []
    for current, dirs, files in os.walk(app):
        rel_dir = Path(current).relative_to(app).as_posix()
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        dirs[:] = [d for d in dirs if not is_ignored(f"{prefix}{d}", True, rules)]
        kept += [f"{prefix}{f}" for f in files if not is_ignored(f"{prefix}{f}", False, rules)]
    return sorted(kept)


@pytest.fixture(scope="module")
def deployed(render: Render) -> list[str]:
    return deploy_files(render("cookiecutter"))


@pytest.mark.parametrize("local_only", LOCAL_ONLY)
def test_the_deploy_package_leaves_out_the_local_tools(
    deployed: list[str], local_only: str
) -> None:
    assert not [rel for rel in deployed if rel == local_only or rel.startswith(local_only)]


def test_the_deploy_package_carries_the_app_and_the_sdk_runtime(deployed: list[str]) -> None:
    assert {
        "function_app.py",
        "orchestrations.py",
        "activities.py",
        "entities.py",
        "http_api.py",
        "host.json",
        "requirements.txt",
        "durable_functions/__init__.py",
        "durable_functions/app.py",
        "durable_functions/orchestrator.py",
    } <= set(deployed)


def test_the_deploy_package_indexes_on_its_own(
    render: Render, deployed: list[str], tmp_path: Path
) -> None:
    app = render("cookiecutter")
    package = tmp_path / "package"
    for rel in deployed:
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(app / rel, package / rel)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK], cwd=package, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    count, tools = done.stdout.split(" ", 1)
    assert int(count) >= 10 and tools.strip() == "[]"


def test_the_local_tools_still_work_in_the_generated_app(render: Render) -> None:
    app = render("cookiecutter")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "durable_functions", "start", "--help"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
