"""Template updates for apps from every front door: ``copier update`` for Copier apps, ``durable
update`` for apps made by ``durable new`` or Cookiecutter. Template changes arrive, the user's
edits survive, both-changed lines are marked as conflicts, local settings are never touched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from template_kit import (
    BIN,
    STATE_FILE,
    durable,
    git,
    make_template_repo,
    render_cookiecutter,
    render_copier,
)

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


# --------------------------------------------------------------------------- durable update

README_TITLE_V2 = "# {{ cookiecutter.project_name }} (made from the template)\n"
MY_TITLE = "# My orders service\n"


def make_v2(repo: Path) -> None:
    """Template v2: host.json, README title, a new file, a dropped file and a newer SDK."""
    app_template = repo / APP_TEMPLATE
    host_json = app_template / "host.json"
    host_json.write_text(
        host_json.read_text().replace(
            '"version": "2.0",', '"version": "2.0",\n  "functionTimeout": "00:10:00",'
        )
    )
    readme = app_template / "README.md"
    readme.write_text(README_TITLE_V2 + readme.read_text().split("\n", 1)[1])
    (app_template / "NOTES.md").write_text("Notes for {{ cookiecutter.project_name }}\n")
    (app_template / "compose.yaml").unlink()
    sdk_init = app_template / "durable_functions" / "__init__.py"
    sdk_init.write_text(sdk_init.read_text() + "# released with template v2\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v2")
    git(repo, "tag", "v2.0.0")


def edit_like_a_user(app: Path) -> None:
    git(app, "init", "-q", "-b", "main")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "generated")
    function_app = app / "function_app.py"
    function_app.write_text(function_app.read_text() + USER_LINE)
    readme = app / "README.md"
    readme.write_text(MY_TITLE + readme.read_text().split("\n", 1)[1])
    settings = json.loads((app / "local.settings.json").read_text())
    settings["Values"]["AzureWebJobsStorage"] = MY_CONNECTION
    (app / "local.settings.json").write_text(json.dumps(settings, indent=2))
    git(app, "commit", "-q", "-am", "my edits")


@pytest.fixture(scope="module", params=["durable new", "cookiecutter"])
def durable_updated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str], Path]:
    """An app made at v1.0.0 by ``durable new`` or Cookiecutter, edited, then ``durable update``d
    from the v2.0.0 template checkout."""
    root = tmp_path_factory.mktemp("durable-update")
    repo = make_template_repo(root / "template-repo", tag="v1.0.0")
    if request.param == "durable new":
        app = root / "orders_app"
        done = durable("new", str(app), "--no-input")
        assert done.returncode == 0, done.stderr
    else:
        app = render_cookiecutter(repo, root / "out", {"project_slug": "orders_app"})
    edit_like_a_user(app)
    make_v2(repo)
    update = durable("update", str(app), "--template", str(repo))
    assert update.returncode == 0, update.stderr
    return app, update, repo


def test_durable_update_brings_the_template_change(durable_updated: tuple) -> None:
    app, _, _ = durable_updated
    assert json.loads((app / "host.json").read_text())["functionTimeout"] == "00:10:00"


def test_durable_update_adds_and_drops_what_the_template_did(durable_updated: tuple) -> None:
    app, _, _ = durable_updated
    assert (app / "NOTES.md").read_text().startswith("Notes for ")
    assert not (app / "compose.yaml").exists()


def test_durable_update_keeps_the_user_edit(durable_updated: tuple) -> None:
    app, _, _ = durable_updated
    assert (app / "function_app.py").read_text().endswith(USER_LINE)


def test_durable_update_marks_a_conflict_where_both_changed_a_line(durable_updated: tuple) -> None:
    app, update, _ = durable_updated
    readme = (app / "README.md").read_text()
    assert readme.startswith(f"<<<<<<< yours\n{MY_TITLE}")
    assert "=======\n# " in readme and "(made from the template)\n>>>>>>> template\n" in readme
    assert "README.md" in update.stdout and "Conflicts" in update.stdout


def test_durable_update_never_touches_local_settings(durable_updated: tuple) -> None:
    app, _, _ = durable_updated
    settings = json.loads((app / "local.settings.json").read_text())
    assert settings["Values"]["AzureWebJobsStorage"] == MY_CONNECTION


def test_durable_update_brings_the_newer_sdk(durable_updated: tuple) -> None:
    app, _, _ = durable_updated
    init = (app / "durable_functions" / "__init__.py").read_text()
    assert init.endswith("# released with template v2\n")


def test_durable_update_records_the_new_base(durable_updated: tuple) -> None:
    app, _, _ = durable_updated
    state = json.loads((app / STATE_FILE).read_text())
    assert '"functionTimeout"' in state["files"]["host.json"]
    assert "NOTES.md" in state["files"] and "compose.yaml" not in state["files"]


def test_durable_update_of_an_up_to_date_app_changes_nothing(durable_updated: tuple) -> None:
    app, _, repo = durable_updated
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "updated", "--allow-empty")
    again = durable("update", str(app), "--template", str(repo))
    assert again.returncode == 0, again.stderr
    assert git(app, "status", "--porcelain") == ""


def test_durable_update_refuses_uncommitted_work(tmp_path: Path) -> None:
    app = tmp_path / "app"
    assert durable("new", str(app), "--no-input").returncode == 0
    git(app, "init", "-q", "-b", "main")
    done = durable("update", str(app))
    assert done.returncode == 2
    assert done.stderr.startswith("durable update: error: the app has uncommitted changes")
    assert len(done.stderr.splitlines()) == 1


def test_durable_update_sends_copier_apps_to_copier(tmp_path: Path) -> None:
    app = render_copier(make_template_repo(tmp_path / "repo"), tmp_path / "app", {})
    done = durable("update", str(app))
    assert (done.returncode, done.stderr.strip()) == (
        2,
        f"durable update: error: {app} was made with Copier: run `copier update` in it",
    )
