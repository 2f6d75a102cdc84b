"""Cookiecutter local extension: check every answer as soon as the last one is given.

``cookiecutter.json`` ends with a private variable that calls
``durable_check(cookiecutter)``; Cookiecutter renders it right after the
questions, before any file is written. Invalid answers stop generation with
one ``error:`` line each (Cookiecutter's command line prints the message of a
``FailedHookException`` as it is, without a traceback). The rules are those of
``hooks/pre_gen_project.py``, which stays as a second check. Copier never
loads this file. Standard library and Cookiecutter only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

HOOK = Path(__file__).resolve().parent / "hooks" / "pre_gen_project.py"


def durable_check(answers: Any) -> str:
    """Raise with every problem in ``answers``; render nothing when they are valid."""
    namespace: dict[str, Any] = {"__name__": "_durable_template_rules"}
    exec(compile(HOOK.read_text(encoding="utf-8"), str(HOOK), "exec"), namespace)
    found = namespace["problems"](dict(answers))
    if found:
        from cookiecutter.exceptions import FailedHookException

        raise FailedHookException("\n".join(f"error: {problem}" for problem in found))
    return ""


class DurableChecks(Extension):
    """Make :func:`durable_check` available to the template's variables."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["durable_check"] = durable_check
