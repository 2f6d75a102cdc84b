"""``durable new`` and ``durable update`` from a real, non-editable install in a fresh venv.

The package is built from a copy of this checkout in which caches were planted in the template
and the SDK (as a working copy that ran its tests has them), so the test shows that an installed
package creates apps holding template files only, whatever the build picked up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from template_kit import (
    ROOT,
    STATE_FILE,
    git,
    make_template_repo,
    render_cookiecutter,
    sdk_tree,
    tree,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PLANTED = [
    "template/{{cookiecutter.project_slug}}/__pycache__/function_app.cpython-311.pyc",
    "template/{{cookiecutter.project_slug}}/tests/__pycache__/test_http_api.cpython-311.pyc",
    "template/{{cookiecutter.project_slug}}/.pytest_cache/README.md",
    "template/{{cookiecutter.project_slug}}/durable_functions/__pycache__/app.cpython-311.pyc",
    "sdk/durable_functions/__pycache__/app.cpython-311.pyc",
]
OLD_LINE = "This line was in the README of an older template.\n"


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv with the package installed from a built wheel."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "cookiecutter.json", "copier.yml"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.py[co]", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT / "sdk", source / "sdk", ignore=ignore)
    shutil.copytree(ROOT / "template", source / "template", ignore=ignore)
    for rel in PLANTED:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(b"stale cache")
    venv = root / "venv"
    done = run(sys.executable, "-m", "venv", venv)
    assert done.returncode == 0, done.stderr
    done = run(venv / "bin" / "python", "-m", "pip", "install", "-q", f"{source}[scaffold]")
    if done.returncode != 0 and "No matching distribution" in done.stderr:
        pytest.skip(f"cannot install the build dependencies (offline?): {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr
    return venv / "bin"


@pytest.fixture(scope="session")
def new_app(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    app = tmp_path_factory.mktemp("installed-new") / "billing_app"
    done = run(installed / "durable", "new", app, "--no-input", "--backend", "mssql")
    assert done.returncode == 0, done.stderr
    assert "Next: cd " in done.stdout
    return app


def test_the_package_is_installed_from_a_wheel_not_the_checkout(installed: Path) -> None:
    done = run(
        installed / "python", "-c", "import durable_functions; print(durable_functions.__file__)"
    )
    assert "site-packages" in done.stdout and str(ROOT) not in done.stdout


def test_an_installed_durable_new_writes_template_files_only(new_app: Path) -> None:
    leftovers = [
        p.relative_to(new_app).as_posix()
        for p in new_app.rglob("*")
        if p.name in {"__pycache__", ".pytest_cache"} or p.suffix in {".pyc", ".pyo"}
    ]
    assert leftovers == []


def test_an_installed_durable_new_vendors_the_installed_sdk(new_app: Path) -> None:
    vendored = {
        rel.removeprefix("durable_functions/"): data
        for rel, data in tree(new_app).items()
        if rel.startswith("durable_functions/")
    }
    assert vendored == sdk_tree()


def test_an_installed_durable_new_records_the_app_for_updates(new_app: Path) -> None:
    state = json.loads((new_app / STATE_FILE).read_text())
    assert state["answers"]["durable_backend"] == "mssql"


def test_durable_update_takes_the_installed_template(installed: Path, tmp_path: Path) -> None:
    """A Cookiecutter app from an older template commit, updated from the installed package."""
    repo = make_template_repo(tmp_path / "old-template")
    readme = repo / "template" / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + OLD_LINE)
    git(repo, "commit", "-q", "-am", "an older README")
    app = render_cookiecutter(repo, tmp_path / "out", {})
    assert (app / "README.md").read_text().endswith(OLD_LINE)
    git(app, "init", "-q", "-b", "main")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "generated")
    (app / "activities.py").write_text((app / "activities.py").read_text() + "# mine\n")
    git(app, "commit", "-q", "-am", "my edit")

    done = run(installed / "durable", "update", app)
    assert done.returncode == 0, done.stderr
    assert not (app / "README.md").read_text().endswith(OLD_LINE)
    assert (app / "activities.py").read_text().endswith("# mine\n")
    assert "Conflicts" not in done.stdout
