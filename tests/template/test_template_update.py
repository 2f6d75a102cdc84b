"""``copier update``: template changes arrive, the user's edits and local settings survive."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from template_kit import BIN, git, make_template_repo, render_copier

pytestmark = pytest.mark.e2e

APP_TEMPLATE = Path("template") / "{{cookiecutter.project_slug}}"
USER_LINE = "# my own note, kept across updates\n"
MY_CONNECTION = "DefaultEndpointsProtocol=https;AccountName=mine"


@pytest.fixture(scope="module")
def updated_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app generated at v1.0.0, edited by its user, then updated to v2.0.0."""
    root = tmp_path_factory.mktemp("update")
    repo = make_template_repo(root / "template-repo", tag="v1.0.0")
    app = render_copier(repo, root / "app", {})
    git(app, "init", "-q", "-b", "main")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "generated")

    function_app = app / "function_app.py"
    function_app.write_text(function_app.read_text() + USER_LINE)
    settings = json.loads((app / "local.settings.json").read_text())
    settings["Values"]["AzureWebJobsStorage"] = MY_CONNECTION
    (app / "local.settings.json").write_text(json.dumps(settings, indent=2))
    git(app, "commit", "-q", "-am", "my edits")

    host_json = repo / APP_TEMPLATE / "host.json"
    # host.json in the template holds Jinja, so it is edited as text.
    host_json.write_text(
        host_json.read_text().replace(
            '"version": "2.0",', '"version": "2.0",\n  "functionTimeout": "00:10:00",'
        )
    )
    sdk_init = repo / APP_TEMPLATE / "durable_functions" / "__init__.py"
    sdk_init.write_text(sdk_init.read_text() + "# released with template v2\n")
    git(repo, "commit", "-q", "-am", "v2: host.json timeout, newer SDK")
    git(repo, "tag", "v2.0.0")

    done = subprocess.run(
        [str(BIN / "copier"), "update", "--defaults", "--quiet"],
        cwd=app,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return app


def test_update_brings_the_template_change(updated_app: Path) -> None:
    host = json.loads((updated_app / "host.json").read_text())
    assert host["functionTimeout"] == "00:10:00"


def test_update_brings_the_newer_sdk(updated_app: Path) -> None:
    init = (updated_app / "durable_functions" / "__init__.py").read_text()
    assert init.endswith("# released with template v2\n")


def test_update_keeps_the_user_edit(updated_app: Path) -> None:
    assert (updated_app / "function_app.py").read_text().endswith(USER_LINE)


def test_update_never_overwrites_local_settings(updated_app: Path) -> None:
    settings = json.loads((updated_app / "local.settings.json").read_text())
    assert settings["Values"]["AzureWebJobsStorage"] == MY_CONNECTION


def test_update_records_the_new_template_version(updated_app: Path) -> None:
    assert "_commit: v2.0.0" in (updated_app / ".copier-answers.yml").read_text()


def test_update_leaves_no_conflict_files(updated_app: Path) -> None:
    assert list(updated_app.rglob("*.rej")) == []
