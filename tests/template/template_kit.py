"""Helpers shared by the template tests: a git copy of the template, renders, trees, venvs."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template"
APP_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}"
SDK = ROOT / "sdk" / "durable_functions"
BIN = Path(sys.executable).parent
ANSWERS_FILE = ".copier-answers.yml"
STATE_FILE = ".durable-template.json"
"""What Cookiecutter and ``durable new`` record for ``durable update`` (Copier: ANSWERS_FILE)."""
RECORDS = (ANSWERS_FILE, STATE_FILE)
# Generated-app virtual environments, reused across runs (git-ignored through `.venv*/`).
APP_VENVS = ROOT / ".venv-apps"

DEFAULTS: dict[str, Any] = {
    "project_name": "Durable Functions App",
    "project_slug": "durable_functions_app",
    "python_version": "3.12",
    "durable_backend": "azure_storage",
    "http_auth_level": "function",
    "include_entity": True,
    "include_azd_infra": True,
    "include_ci": True,
}
Render = Callable[..., Path]
"""``render(tool, **answers)`` -> app folder (the ``render`` fixture)."""
BACKENDS = ("azure_storage", "durable_task_scheduler", "mssql")
AUTH_LEVELS = ("function", "anonymous")


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity (the test machine may have none)."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def make_template_repo(dest: Path, tag: str = "v1.0.0") -> Path:
    """A git repository holding the template as committed-to-be (what users clone), tagged."""
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "cookiecutter.json", dest)
    shutil.copy2(ROOT / "copier.yml", dest)
    shutil.copytree(
        TEMPLATE, dest / "template", ignore=shutil.ignore_patterns("__pycache__", "*.py[co]")
    )
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "template")
    git(dest, "tag", tag)
    return dest


def cookiecutter_cli(
    repo: Path, out: Path, answers: Mapping[str, Any]
) -> subprocess.CompletedProcess[str]:
    """Run the cookiecutter command line as a user would (``cookiecutter <repo> k=v ...``)."""
    config = out.parent / f"{out.name}-cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {out.parent / 'cc-cache'}\nreplay_dir: {out.parent / 'cc-replay'}\n"
    )
    pairs = [f"{key}={_cli_value(value)}" for key, value in answers.items()]
    command = [str(BIN / "cookiecutter"), "--no-input", "--config-file", str(config)]
    return subprocess.run(
        [*command, "-o", str(out), str(repo), *pairs], capture_output=True, text=True
    )


def copier_cli(
    repo: Path, dst: Path, answers: Mapping[str, Any], *extra: str
) -> subprocess.CompletedProcess[str]:
    """Run ``copier copy --defaults`` as a user would, without --trust."""
    data = [
        arg for key, value in answers.items() for arg in ("--data", f"{key}={_cli_value(value)}")
    ]
    command = [str(BIN / "copier"), "copy", "--defaults", "--quiet", *extra, *data]
    return subprocess.run([*command, str(repo), str(dst)], capture_output=True, text=True)


def durable_new(target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``durable new`` from this checkout."""
    return durable("new", str(target), *args)


def durable(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``durable`` command line from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk"), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "durable_functions", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, cwd=cwd
    )


def _cli_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_cookiecutter(repo: Path, out: Path, answers: Mapping[str, Any]) -> Path:
    """Render with Cookiecutter's API (the CLI tests cover the command); return the app folder."""
    from cookiecutter.main import cookiecutter

    out.mkdir(parents=True)
    config = out / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: {out / '.cache'}\nreplay_dir: {out / '.replay'}\n")
    app = cookiecutter(
        str(repo),
        no_input=True,
        extra_context=dict(answers),
        output_dir=str(out / "out"),
        config_file=str(config),
    )
    return Path(app)


def render_copier(repo: Path, dst: Path, answers: Mapping[str, Any]) -> Path:
    """Render with Copier's API, without trust; return the app folder."""
    import copier

    copier.run_copy(str(repo), str(dst), data=dict(answers), defaults=True, quiet=True)
    return dst


def tree(root: Path, *, ignore: tuple[str, ...] = RECORDS) -> dict[str, bytes]:
    """Relative path -> bytes of every file under ``root`` (caches and ``ignore`` left out)."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and "__pycache__" not in path.parts and rel not in ignore:
            files[rel] = path.read_bytes()
    return files


def empty_dirs(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_dir() and not any(p.iterdir())
    )


def sdk_tree() -> dict[str, bytes]:
    """The SDK package as vendored: no caches, no packaged template."""
    return {
        rel: data
        for rel, data in tree(SDK, ignore=()).items()
        if not rel.startswith("_template/") and not rel.endswith((".pyc", ".pyo"))
    }


def python_for(version: str) -> Path | None:
    """An interpreter for ``version`` (3.11 is the one running the tests; others via pyenv)."""
    if sys.version_info[:2] == tuple(int(p) for p in version.split(".")):
        return Path(sys.executable)
    candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python")))
    found = shutil.which(f"python{version}")
    if candidates:
        return Path(candidates[-1])
    return Path(found) if found else None


def app_venv(version: str, app: Path) -> Path:
    """A venv with ``app``'s requirements-dev.txt on ``version``, built once and reused.

    Generated apps all share the same requirements, so one venv per Python version serves the
    whole matrix; a lock keeps parallel test workers from building it twice.
    """
    interpreter = python_for(version)
    assert interpreter is not None
    requirements = [app / "requirements.txt", app / "requirements-dev.txt"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in requirements)).hexdigest()[:12]
    home = APP_VENVS / f"py{version}-{digest}"
    python = home / "bin" / "python"
    APP_VENVS.mkdir(exist_ok=True)
    with _locked(APP_VENVS / f"py{version}.lock"):
        if (home / "ready").exists():
            return python
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run([str(interpreter), "-m", "venv", str(home)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", "requirements-dev.txt"],
            cwd=app,
            check=True,
            capture_output=True,
        )
        (home / "ready").write_text(json.dumps({"python": str(interpreter)}))
    return python


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
