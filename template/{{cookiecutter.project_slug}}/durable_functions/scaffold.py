"""``durable new`` and ``durable update``: create an app from the project template, update it later.

The template ships with the package (``durable_functions/_template`` in the
wheel, ``template/`` in a source checkout) and is rendered with Cookiecutter,
so ``durable new`` and ``cookiecutter`` give the same app. The answers are
checked first with the template's own rules (its ``pre_gen_project`` hook),
and nothing is written unless they are all valid. The app gets a copy of the
running SDK, so it always carries the version that created it.

Apps made by ``durable new`` or Cookiecutter record their answers and the files
as generated in ``.durable-template.json``. ``durable update`` renders the
template again with those answers and merges the change into the app three
ways, as ``copier update`` does for Copier apps: files the user did not touch
take the new version, edits the template did not touch stay, both edited
means a merge with conflict markers, and ``local.settings.json`` is never
touched. The vendored SDK is replaced whole.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable_functions.errors import TemplateError

PACKAGE_DIR = Path(__file__).resolve().parent
SDK_EXCLUDED = ("__pycache__", "_template", "*.pyc", "*.pyo")
STATE_FILE = ".durable-template.json"
COPIER_ANSWERS = ".copier-answers.yml"
SDK_DIR = "durable_functions"
# Never written by an update when the app has them: the user's own settings.
KEEP_IF_EXISTS = frozenset({"local.settings.json"})
CACHE_DIRS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"})
CACHE_SUFFIXES = (".pyc", ".pyo")
INSTALL_HINT = "pip install 'cookiecutter>=2.6'"


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
    choices: tuple[str, ...] = field(default=())
    """The accepted values of a choice question (from the template's cookiecutter.json)."""


QUESTIONS = (
    Question(key="project_name", flag="--name", prompt="Project name"),
    Question(key="project_slug", flag="--slug", prompt="Folder-style name (lowercase, digits, _)"),
    Question(key="python_version", flag="--python", prompt="Python version"),
    Question(key="durable_backend", flag="--backend", prompt="Durable back end in Azure"),
    Question(key="http_auth_level", flag="--auth", prompt="HTTP auth level"),
    Question(key="include_entity", flag="--entity", prompt="Include the entity", is_bool=True),
    Question(key="include_azd_infra", flag="--azd", prompt="Include azd infra", is_bool=True),
    Question(key="include_ci", flag="--ci", prompt="Include a CI workflow", is_bool=True),
)
FLAGS = {q.key: q.flag for q in QUESTIONS}


# --------------------------------------------------------------------------- durable new


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
            parser.add_argument(
                question.flag, dest=question.key, metavar="VALUE", help=question.prompt.lower()
            )
    parser.add_argument(
        "--no-input",
        action="store_true",
        help="do not ask: use the options given and the defaults for the rest",
    )


def run(args: argparse.Namespace) -> int:
    """Create the app; invalid answers raise :class:`TemplateError` before anything is written."""
    target = Path(args.directory).expanduser().absolute()
    given = {q.key: getattr(args, q.key) for q in QUESTIONS if getattr(args, q.key) is not None}
    interactive = not args.no_input and sys.stdin.isatty()
    answers = collect_answers(
        template_root(), given, default_name=target.name, ask=_ask if interactive else None
    )
    app = create_app(target, answers)
    print(f"Created {answers['project_name']} in {app}")
    if "project_slug" not in given and answers["project_slug"] != target.name:
        print(f"Project slug: {answers['project_slug']} (made from the name; --slug sets another)")
    print(
        f"Next: cd {_shown(app)}, then `python -m venv .venv`, "
        "`.venv/bin/pip install -r requirements-dev.txt`, `.venv/bin/pytest` and"
    )
    print("`.venv/bin/python -m durable_functions start` (see its README.md).")
    return 0


def template_root(given: str | Path | None = None) -> Path:
    """The template to render: ``given`` (a template checkout or its ``template/`` folder), else
    the packaged one (``_template`` in an installed wheel, ``template/`` in a checkout)."""
    if given is not None:
        root = Path(given).expanduser().absolute()
        for candidate in (root, root / "template"):
            if (candidate / "cookiecutter.json").is_file() and (candidate / "hooks").is_dir():
                return candidate
        raise TemplateError(f"{root} holds no project template (no template/cookiecutter.json)")
    for candidate in (PACKAGE_DIR / "_template", PACKAGE_DIR.parents[1] / "template"):
        if (candidate / "cookiecutter.json").is_file() and (candidate / "hooks").is_dir():
            return candidate
    raise TemplateError(
        "the project template is not part of this copy of durable_functions (an app's vendored "
        "copy leaves it out): install the package from a clone with `pip install <clone>`, or "
        "pass a template checkout with --template DIR"
    )


def choices(root: Path) -> dict[str, tuple[str, ...]]:
    """Choice question -> accepted values, as the template's cookiecutter.json lists them."""
    raw = json.loads((root / "cookiecutter.json").read_text(encoding="utf-8"))
    return {q.key: tuple(raw[q.key]) for q in QUESTIONS if isinstance(raw.get(q.key), list)}


def defaults(root: Path, *, default_name: str | None = None) -> dict[str, Any]:
    """The template's answers when nobody is asked, with the project named after the folder."""
    raw = json.loads((root / "cookiecutter.json").read_text(encoding="utf-8"))
    values = {q.key: _first(raw[q.key]) for q in QUESTIONS}
    if default_name:
        values["project_name"] = derive_name(default_name) or default_name
    values["project_slug"] = derive_slug(str(values["project_name"]))
    return values


def _first(value: Any) -> Any:
    """A choice question's default is its first choice."""
    return value[0] if isinstance(value, list) else value


def derive_name(folder: str) -> str:
    """A valid project name from a folder name: other characters become '-'."""
    name = re.sub(r"[^A-Za-z0-9 ._-]", "-", folder.strip())
    return re.sub(r"^[^A-Za-z0-9]+", "", name)[:80]


def derive_slug(name: str) -> str:
    """A valid slug from a project name, or '' when none can be made (say: use --slug)."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower())
    slug = re.sub(r"^[^a-z]+", "", slug)[:40].rstrip("_")
    if keyword.iskeyword(slug):
        slug += "_app"
    return slug if len(slug) >= 2 else ""


def collect_answers(
    root: Path,
    given: dict[str, Any],
    *,
    default_name: str | None = None,
    ask: Callable[[Question, Any], Any] | None = None,
) -> dict[str, Any]:
    """Merge the given answers, the asked ones and the defaults, then validate them all."""
    check = _rules(root)
    options = choices(root)
    answers = defaults(root, default_name=default_name)
    for question in QUESTIONS:
        if question.key in given:
            answers[question.key] = given[question.key]
        elif ask is not None:
            # Defaults are valid, so a problem now is with this answer: say so and ask again.
            shown = Question(
                key=question.key,
                flag=question.flag,
                prompt=question.prompt,
                is_bool=question.is_bool,
                choices=options.get(question.key, ()),
            )
            while True:
                answers[question.key] = ask(shown, answers[question.key])
                if question.key == "project_name" and "project_slug" not in given:
                    answers["project_slug"] = derive_slug(str(answers["project_name"]))
                mine = [p for p in check(answers) if p.startswith(question.key)]
                if question.key == "project_name" and not answers["project_slug"]:
                    break  # asked next, with no default
                if not mine:
                    break
                print("\n".join(mine))
        if question.key == "project_name" and "project_slug" not in given:
            answers["project_slug"] = derive_slug(str(answers["project_name"]))
    if not answers["project_slug"] and "project_slug" not in given:
        raise TemplateError(
            f"no valid project slug can be made from {answers['project_name']!r}: give one with "
            "--slug NAME (2-40 lowercase letters, digits or underscores, starting with a letter)"
        )
    found = check(answers)
    if found:
        raise TemplateError("\n".join(_with_flag(problem) for problem in found))
    return answers


def create_app(target: Path, answers: dict[str, Any], *, front_door: str = "durable new") -> Path:
    """Render the template into ``target`` (new or empty) and vendor this SDK into it."""
    target = Path(target).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TemplateError(f"{target} already exists and is not empty: choose a new folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TemplateError(f"cannot create {target}: {exc.strerror or exc}") from None
    if not os.access(target.parent, os.W_OK):
        raise TemplateError(f"cannot create {target}: {target.parent} is not writable")
    root = template_root()
    with tempfile.TemporaryDirectory(prefix="durable-new-") as scratch:
        rendered = render(root, answers, Path(scratch), front_door=front_door)
        _vendor_running_sdk(rendered)
        try:
            if target.exists():
                target.rmdir()
            shutil.move(str(rendered), str(target))
        except OSError as exc:
            raise TemplateError(f"cannot create {target}: {exc.strerror or exc}") from None
    return target


def render(root: Path, answers: dict[str, Any], scratch: Path, *, front_door: str) -> Path:
    """Render the template at ``root`` with Cookiecutter into ``scratch``; return the app folder.

    The rendered app holds template files only: no bytecode or tool caches, whatever the
    template folder carried.
    """
    try:
        from cookiecutter.exceptions import CookiecutterException
        from cookiecutter.main import cookiecutter
    except ImportError:
        raise TemplateError(
            f"`durable {front_door.split()[-1]}` needs Cookiecutter: {INSTALL_HINT}"
        ) from None
    config = scratch / "cookiecutter.yaml"
    # Keep Cookiecutter's replay and clone caches out of the user's home folder.
    config.write_text(f"cookiecutters_dir: {scratch / 'cache'}\nreplay_dir: {scratch / 'replay'}\n")
    with _no_bytecode():
        try:
            app = cookiecutter(
                str(root),
                no_input=True,
                extra_context={**answers, "__front_door": front_door},
                output_dir=str(scratch / "out"),
                config_file=str(config),
            )
        except (CookiecutterException, ValueError) as exc:
            lines = [line.removeprefix("error: ") for line in str(exc).splitlines() if line]
            raise TemplateError("\n".join(lines) or "the template could not be rendered") from None
    rendered = Path(app)
    _remove_caches(rendered)
    return rendered


# --------------------------------------------------------------------------- durable update


def configure_update(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``durable update``."""
    parser.add_argument(
        "directory", nargs="?", default=".", help="the app to update (default: this folder)"
    )
    parser.add_argument(
        "--template",
        metavar="DIR",
        help="a newer template checkout to update from (default: this package's template)",
    )


def run_update(args: argparse.Namespace) -> int:
    """Merge the current template into an app made by ``durable new`` or Cookiecutter."""
    app = Path(args.directory).expanduser().absolute()
    report = update_app(app, template=args.template)
    print(report.summary(app))
    return 0


@dataclass(slots=True)
class UpdateReport:
    """What ``durable update`` did, file by file (paths relative to the app)."""

    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Files the template changed or dropped that the user had deleted or edited: left as is."""

    def summary(self, app: Path) -> str:
        changed = len(self.updated) + len(self.added) + len(self.removed) + len(self.merged)
        lines = [f"Updated {_shown(app)} from the template: {changed} file(s) changed."]
        if self.conflicts:
            lines.append(
                f"Conflicts to resolve (marked with <<<<<<< / >>>>>>>): {', '.join(self.conflicts)}"
            )
        if self.kept:
            lines.append(f"Left as you have them: {', '.join(self.kept)}")
        lines.append("Review with `git diff`, then run the tests.")
        return "\n".join(lines)


def update_app(app: Path, *, template: str | Path | None = None) -> UpdateReport:
    """Three-way merge of the template's current version into ``app`` (see the module doc)."""
    state_path = app / STATE_FILE
    if not state_path.is_file():
        if (app / COPIER_ANSWERS).is_file():
            raise TemplateError(f"{_shown(app)} was made with Copier: run `copier update` in it")
        raise TemplateError(
            f"{_shown(app)} has no {STATE_FILE}: `durable update` updates apps made by "
            "`durable new` or Cookiecutter (Copier apps: `copier update`)"
        )
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        answers, base = dict(state["answers"]), dict(state["files"])
    except (ValueError, KeyError, TypeError):
        raise TemplateError(f"{state_path} is not a valid template record") from None
    _require_clean_git(app)
    root = template_root(template)
    packaged = template is None
    with tempfile.TemporaryDirectory(prefix="durable-update-") as scratch:
        rendered = render(root, answers, Path(scratch), front_door="durable update")
        if packaged:
            _vendor_running_sdk(rendered)
        new_state = json.loads((rendered / STATE_FILE).read_text(encoding="utf-8"))
        new = dict(new_state["files"])
        report = UpdateReport()
        _replace_sdk(app, rendered, report)
        for rel in sorted(set(base) | set(new)):
            _update_file(app, rel, base.get(rel), new.get(rel), report)
        for rel in sorted(KEEP_IF_EXISTS):
            if not (app / rel).exists() and (rendered / rel).is_file():
                shutil.copy2(rendered / rel, app / rel)
                report.added.append(rel)
        shutil.copy2(rendered / STATE_FILE, state_path)
    return report


def _update_file(
    app: Path, rel: str, base: str | None, new: str | None, report: UpdateReport
) -> None:
    path = app / rel
    current = _read(path)
    if new == base or current == new:
        return  # the template did not change it, or the app already has the new version
    if current == base:  # untouched by the user: take the template's version
        if new is None:
            path.unlink(missing_ok=True)
            report.removed.append(rel)
        else:
            _write(path, new)
            (report.updated if base is not None else report.added).append(rel)
        return
    if current is None or new is None:
        report.kept.append(rel)  # deleted by the user, or dropped by the template but edited
        return
    text, conflicted = merge3(current, base or "", new)
    _write(path, text)
    (report.conflicts if conflicted else report.merged).append(rel)


def merge3(current: str, base: str, new: str) -> tuple[str, bool]:
    """``current`` and ``new`` merged against ``base``; True when conflicts are marked."""
    git = shutil.which("git")
    if git:
        with tempfile.TemporaryDirectory(prefix="durable-merge-") as scratch:
            paths = []
            for name, text in (("current", current), ("base", base), ("new", new)):
                paths.append(Path(scratch) / name)
                paths[-1].write_text(text, encoding="utf-8", newline="")
            done = subprocess.run(
                [git, "merge-file", "-p", "-L", "yours", "-L", "base", "-L", "template"]
                + [str(p) for p in paths],
                capture_output=True,
                check=False,
            )
            if done.returncode >= 0 and done.returncode < 128:
                return done.stdout.decode("utf-8"), done.returncode > 0
    # No git: keep both versions whole, marked like a conflict.
    ending = "" if current.endswith("\n") else "\n"
    tail = "" if new.endswith("\n") else "\n"
    return f"<<<<<<< yours\n{current}{ending}=======\n{new}{tail}>>>>>>> template\n", True


def _replace_sdk(app: Path, rendered: Path, report: UpdateReport) -> None:
    """The vendored SDK is not edited in place: replace it whole with the rendered one."""
    old, fresh = app / SDK_DIR, rendered / SDK_DIR
    old_files = _files(old)
    new_files = _files(fresh)
    for rel in sorted(old_files - new_files):
        (old / rel).unlink()
        report.removed.append(f"{SDK_DIR}/{rel}")
    for rel in sorted(new_files):
        data = (fresh / rel).read_bytes()
        target = old / rel
        if not target.is_file() or target.read_bytes() != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            (report.updated if target.exists() else report.added).append(f"{SDK_DIR}/{rel}")
            target.write_bytes(data)
    if old.is_dir():
        _remove_caches(old)
        for folder in sorted((p for p in old.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()


def _require_clean_git(app: Path) -> None:
    """Like Copier: refuse to merge into uncommitted work, so `git diff` shows the update."""
    git = shutil.which("git")
    if git is None:
        return
    inside = subprocess.run(
        [git, "rev-parse", "--is-inside-work-tree"], cwd=app, capture_output=True, text=True
    )
    if inside.returncode != 0:
        return
    status = subprocess.run(
        [git, "status", "--porcelain", "--", "."], cwd=app, capture_output=True, text=True
    )
    if status.stdout.strip():
        raise TemplateError(
            "the app has uncommitted changes: commit or stash them first, so the update can be "
            "reviewed (and undone) with git"
        )


# --------------------------------------------------------------------------- helpers


def _rules(root: Path) -> Callable[[dict[str, Any]], list[str]]:
    """The template's own ``problems`` from its pre-generation hook (one set of rules)."""
    hook = root / "hooks" / "pre_gen_project.py"
    if not hook.is_file():
        raise TemplateError(f"the template at {root} has no pre_gen_project hook")
    # Executed from source, so no bytecode cache lands in the packaged template.
    namespace: dict[str, Any] = {"__name__": "_durable_template_pre_gen"}
    exec(compile(hook.read_text(encoding="utf-8"), str(hook), "exec"), namespace)
    check: Callable[[dict[str, Any]], list[str]] = namespace["problems"]
    return check


def _with_flag(problem: str) -> str:
    """The problem, naming the ``durable new`` option that sets the answer."""
    key = problem.split(" ", 1)[0]
    if key not in FLAGS:
        return problem
    flag = FLAGS[key]
    if key == "include_azd_infra":
        return f"{problem} (option: --no-azd, or --python 3.12)"
    return f"{problem} (option: {flag})"


def _vendor_running_sdk(rendered: Path) -> None:
    vendored = rendered / SDK_DIR
    shutil.rmtree(vendored, ignore_errors=True)
    shutil.copytree(PACKAGE_DIR, vendored, ignore=shutil.ignore_patterns(*SDK_EXCLUDED))


def _files(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file()
        and not CACHE_DIRS.intersection(p.relative_to(root).parts)
        and not p.name.endswith(CACHE_SUFFIXES)
    }


def _remove_caches(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and path.name in CACHE_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.endswith(CACHE_SUFFIXES):
            path.unlink()


def _read(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it."""
    try:
        rel = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return str(rel) if str(rel) != "." else "."


@contextmanager
def _no_bytecode() -> Iterator[None]:
    """Cookiecutter imports the template's extension: leave no ``__pycache__`` in the template."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


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
    if question.choices:
        print(f"{question.prompt}:")
        for number, value in enumerate(question.choices, start=1):
            print(f"  {number}) {value}")
        default_number = question.choices.index(default) + 1 if default in question.choices else 1
        while True:
            reply = input(f"Choose 1-{len(question.choices)} [{default_number}]: ").strip()
            if not reply:
                return default
            if reply.isdigit() and 1 <= int(reply) <= len(question.choices):
                return question.choices[int(reply) - 1]
            if reply in question.choices:
                return reply
            accepted = ", ".join(question.choices)
            print(f"Please answer 1-{len(question.choices)} or one of: {accepted}")
    reply = input(f"{question.prompt} [{default}]: " if default else f"{question.prompt}: ").strip()
    return reply or default
