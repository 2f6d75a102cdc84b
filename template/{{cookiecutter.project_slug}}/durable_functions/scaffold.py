"""``durable new``: create a Durable Functions app from the project template.

The template ships with the package (``durable_functions/_template`` in the
wheel, ``template/`` in a source checkout) and is rendered with Cookiecutter,
so ``durable new`` and ``cookiecutter`` give the same app. The answers are
checked first with the template's own rules (its ``pre_gen_project`` hook),
and nothing is written unless they are all valid. The app gets a copy of the
running SDK, so it always carries the version that created it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable_functions.errors import TemplateError

PACKAGE_DIR = Path(__file__).resolve().parent
SDK_EXCLUDED = ("__pycache__", "_template", "*.pyc", "*.pyo")


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """One template question as ``durable new`` asks it."""

    key: str
    """The template variable."""
    flag: str
    """The command-line option."""
    prompt: str
    """What the interactive prompt says."""
    is_bool: bool = False
    """Answered yes/no."""


QUESTIONS = (
    Question(key="project_name", flag="--name", prompt="Project name"),
    Question(key="project_slug", flag="--slug", prompt="Folder-style name (lowercase, digits, _)"),
    Question(key="python_version", flag="--python", prompt="Python version (3.10-3.13)"),
    Question(
        key="durable_backend",
        flag="--backend",
        prompt="Durable back end (azure_storage, durable_task_scheduler, mssql)",
    ),
    Question(key="http_auth_level", flag="--auth", prompt="HTTP auth level (function, anonymous)"),
    Question(key="include_entity", flag="--entity", prompt="Include the entity", is_bool=True),
    Question(key="include_azd_infra", flag="--azd", prompt="Include azd infra", is_bool=True),
    Question(key="include_ci", flag="--ci", prompt="Include a CI workflow", is_bool=True),
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``durable new``."""
    parser.add_argument("directory", help="folder to create the app in (must be new or empty)")
    for question in QUESTIONS:
        if question.is_bool:
            parser.add_argument(
                question.flag,
                dest=question.key,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=question.prompt.lower(),
            )
        else:
            parser.add_argument(question.flag, dest=question.key, help=question.prompt.lower())
    parser.add_argument(
        "--no-input",
        action="store_true",
        help="do not ask: use the options given and the defaults for the rest",
    )


def run(args: argparse.Namespace) -> int:
    """Create the app; invalid answers raise :class:`TemplateError` before anything is written."""
    target = Path(args.directory).resolve()
    given = {q.key: getattr(args, q.key) for q in QUESTIONS if getattr(args, q.key) is not None}
    interactive = not args.no_input and sys.stdin.isatty()
    answers = collect_answers(
        template_root(), given, default_name=target.name, ask=_ask if interactive else None
    )
    app = create_app(target, answers)
    print(f"Created {answers['project_name']} in {app}")
    print("Next: cd into it, create a venv, `pip install -r requirements-dev.txt`, then")
    print("`pytest` and `python -m durable_functions start` (see its README.md).")
    return 0


def template_root() -> Path:
    """The packaged template: ``_template`` in an installed wheel, ``template/`` in a checkout."""
    for candidate in (PACKAGE_DIR / "_template", PACKAGE_DIR.parents[1] / "template"):
        if (candidate / "cookiecutter.json").is_file() and (candidate / "hooks").is_dir():
            return candidate
    raise TemplateError(
        "the project template is not part of this installation; install the "
        "'durable-functions-py' package (not a vendored copy) to use `durable new`"
    )


def defaults(root: Path, *, default_name: str | None = None) -> dict[str, Any]:
    """The template's answers when nobody is asked, with the project named after the folder."""
    import json

    raw = json.loads((root / "cookiecutter.json").read_text(encoding="utf-8"))
    values = {q.key: raw[q.key] for q in QUESTIONS}
    if default_name:
        values["project_name"] = default_name
    values["project_slug"] = _slug(str(values["project_name"]))
    return values


def collect_answers(
    root: Path,
    given: dict[str, Any],
    *,
    default_name: str | None = None,
    ask: Callable[[Question, Any], Any] | None = None,
) -> dict[str, Any]:
    """Merge the given answers, the asked ones and the defaults, then validate them all."""
    validate = _validator(root)
    answers = defaults(root, default_name=default_name)
    for question in QUESTIONS:
        if question.key in given:
            answers[question.key] = given[question.key]
        elif ask is not None:
            # Defaults are valid, so a problem now is with this answer: say so and ask again.
            default = answers[question.key]
            while True:
                answers[question.key] = ask(question, default)
                if question.key == "project_name" and "project_slug" not in given:
                    answers["project_slug"] = _slug(str(answers["project_name"]))
                problem = validate(answers)
                if not (problem and problem.startswith(question.key)):
                    break
                print(problem)
        if question.key == "project_name" and "project_slug" not in given:
            answers["project_slug"] = _slug(str(answers["project_name"]))
    problem = validate(answers)
    if problem:
        raise TemplateError(problem)
    return answers


def create_app(target: Path, answers: dict[str, Any]) -> Path:
    """Render the template into ``target`` (new or empty) and vendor this SDK into it."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TemplateError(f"{target} already exists and is not empty: choose a new folder")
    try:
        from cookiecutter.main import cookiecutter
    except ImportError as exc:
        raise TemplateError(
            "`durable new` needs Cookiecutter: pip install 'durable-functions-py[scaffold]'"
        ) from exc
    root = template_root()
    with tempfile.TemporaryDirectory(prefix="durable-new-") as scratch:
        work = Path(scratch)
        config = work / "cookiecutter.yaml"
        # Keep Cookiecutter's replay and clone caches out of the user's home folder.
        config.write_text(f"cookiecutters_dir: {work / 'cache'}\nreplay_dir: {work / 'replay'}\n")
        rendered = Path(
            cookiecutter(
                str(root),
                no_input=True,
                extra_context=answers,
                output_dir=str(work / "out"),
                config_file=str(config),
            )
        )
        vendored = rendered / "durable_functions"
        shutil.rmtree(vendored, ignore_errors=True)
        shutil.copytree(PACKAGE_DIR, vendored, ignore=shutil.ignore_patterns(*SDK_EXCLUDED))
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.rmdir()
        shutil.move(str(rendered), str(target))
    return target


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_")


def _validator(root: Path) -> Callable[[dict[str, Any]], str | None]:
    """The template's own ``validate`` from its pre-generation hook (one set of rules)."""
    hook = root / "hooks" / "pre_gen_project.py"
    if not hook.is_file():
        raise TemplateError(f"the template at {root} has no pre_gen_project hook")
    # Executed from source, so no bytecode cache lands in the packaged template.
    namespace: dict[str, Any] = {"__name__": "_durable_template_pre_gen"}
    exec(compile(hook.read_text(encoding="utf-8"), str(hook), "exec"), namespace)
    validate: Callable[[dict[str, Any]], str | None] = namespace["validate"]
    return validate


def _ask(question: Question, default: Any) -> Any:
    """Prompt on the terminal; an empty answer keeps the default."""
    if question.is_bool:
        shown = "Y/n" if default else "y/N"
        while True:
            reply = input(f"{question.prompt}? [{shown}]: ").strip().lower()
            if not reply:
                return default
            if reply in ("y", "yes", "true", "1"):
                return True
            if reply in ("n", "no", "false", "0"):
                return False
            print("Please answer yes or no.")
    reply = input(f"{question.prompt} [{default}]: ").strip()
    return reply or default
