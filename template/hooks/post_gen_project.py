"""Finish a Cookiecutter (or ``durable new``) app: tidy it, record its base, say what is next.

* Optional files (infra, CI workflow, entity sample) are chosen by their file
  names, which render empty when not wanted; Cookiecutter then still creates
  their folders, so empty folders are removed (Copier skips them through
  ``_exclude`` in ``copier.yml``; both tools' output stays identical).
* Caches a template folder may carry (``__pycache__``, ``*.pyc``, tool caches)
  are removed: a new app holds template files only.
* ``.durable-template.json`` records the answers and the files as generated
  (the vendored SDK aside). ``durable update`` uses it as the base of its
  three-way merge, as Copier uses ``.copier-answers.yml``.

Standard library only.
"""

from __future__ import annotations

import json
import os
import shutil

STATE_FILE = ".durable-template.json"
# Never recorded nor merged: the user's own settings, and the SDK, which is replaced whole.
UNTRACKED = ("local.settings.json", STATE_FILE)
SDK_DIR = "durable_functions"
CACHE_DIRS = frozenset(
    {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis", ".durable"}
)
CACHE_SUFFIXES = (".pyc", ".pyo")

# Filled in by the generator when the hook runs; importing the file leaves it as is.
CONTEXT_JSON = r"""{{ {
    "answers": {
        "project_name": cookiecutter.project_name,
        "project_slug": cookiecutter.project_slug,
        "python_version": cookiecutter.python_version,
        "durable_backend": cookiecutter.durable_backend,
        "http_auth_level": cookiecutter.http_auth_level,
        "include_entity": cookiecutter.include_entity,
        "include_azd_infra": cookiecutter.include_azd_infra,
        "include_ci": cookiecutter.include_ci,
    },
    "front_door": cookiecutter.__front_door,
} | tojson }}"""


def remove_caches(root: str) -> None:
    """Delete bytecode and tool caches anywhere under ``root``."""
    for current, dirs, files in os.walk(root):
        for name in [d for d in dirs if d in CACHE_DIRS]:
            shutil.rmtree(os.path.join(current, name))
            dirs.remove(name)
        for name in files:
            if name.endswith(CACHE_SUFFIXES) or name == ".DS_Store":
                os.remove(os.path.join(current, name))


def remove_empty_dirs(root: str) -> None:
    """Delete every empty folder under ``root``, deepest first."""
    for current, _dirs, _files in sorted(os.walk(root), key=lambda item: -len(item[0])):
        if current != root and not os.listdir(current):
            os.rmdir(current)


def snapshot(root: str) -> dict[str, str]:
    """Relative path -> text of every generated file ``durable update`` merges."""
    files = {}
    for current, dirs, names in os.walk(root):
        rel_dir = os.path.relpath(current, root)
        if rel_dir == ".":
            dirs[:] = [d for d in dirs if d not in (SDK_DIR, ".git")]
        for name in names:
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            if rel in UNTRACKED:
                continue
            try:
                with open(os.path.join(current, name), encoding="utf-8", newline="") as handle:
                    files[rel] = handle.read()
            except UnicodeDecodeError:
                continue  # binary: not merged
    return dict(sorted(files.items()))


def write_state(root: str, answers: dict[str, object]) -> None:
    state = {
        "_note": "Written by the template for `durable update`: the answers and the files as "
        "generated (the base of the next update). Commit it; do not edit it.",
        "answers": answers,
        "files": snapshot(root),
    }
    with open(os.path.join(root, STATE_FILE), "w", encoding="utf-8", newline="\n") as handle:
        json.dump(state, handle, indent=1, ensure_ascii=False)
        handle.write("\n")


def next_steps(root: str) -> str:
    return (
        f"Created {os.path.basename(root)} in {root}\n"
        f"Next: cd {root}, then `python -m venv .venv`, "
        "`.venv/bin/pip install -r requirements-dev.txt`, `.venv/bin/pytest` and\n"
        "`.venv/bin/python -m durable_functions start` (README.md has the rest, including "
        "`azd up` and updates)."
    )


if __name__ == "__main__":
    here = os.getcwd()
    context = json.loads(CONTEXT_JSON)
    remove_caches(here)
    remove_empty_dirs(here)
    write_state(here, context["answers"])
    if context["front_door"] == "cookiecutter":
        print(next_steps(here))
