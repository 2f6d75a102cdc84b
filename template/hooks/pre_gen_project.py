"""Reject invalid template answers before any file is written.

Cookiecutter has no per-question validator, so every answer is checked here
and each invalid one is reported on its own line, saying what is wrong and
what is accepted. ``durable new`` imports :func:`problems` from this file and
the template's Cookiecutter extension (``durable_template_checks.py``) runs
it before Cookiecutter's own hook machinery, so all share one set of rules;
``copier.yml`` states the same rules as validators, with the same messages.
Standard library only: it runs in whatever Python runs the generator.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
# Python versions the azd infra may deploy: those Azure Functions Flex Consumption runs (all of
# the above today; Microsoft's Get-AzFunctionAppFlexConsumptionRuntime reference lists 3.10-3.13
# on FC1, see docs/template.md). Keep equal to the copier.yml validator and main.bicep @allowed.
FLEX_PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
BACKENDS = ("azure_storage", "durable_task_scheduler", "mssql")
AUTH_LEVELS = ("function", "anonymous")
FLAGS = ("include_entity", "include_azd_infra", "include_ci")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}")
SLUG_RE = re.compile(r"[a-z][a-z0-9_]{0,38}[a-z0-9]")

# Filled in by the generator when the hook runs; importing the file leaves it as is.
ANSWERS_JSON = r"""{{ {
    "project_name": cookiecutter.project_name,
    "project_slug": cookiecutter.project_slug,
    "python_version": cookiecutter.python_version,
    "durable_backend": cookiecutter.durable_backend,
    "http_auth_level": cookiecutter.http_auth_level,
    "include_entity": cookiecutter.include_entity,
    "include_azd_infra": cookiecutter.include_azd_infra,
    "include_ci": cookiecutter.include_ci,
} | tojson }}"""


def problems(answers: dict[str, object]) -> list[str]:
    """Every problem with the answers, one line each, in question order (empty when valid).

    The slug names the app folder and, with ``-`` for ``_``, the Function app
    and azd resources, so it must be a Python identifier and a valid app name.
    """
    found = []
    name = str(answers.get("project_name", ""))
    if not NAME_RE.fullmatch(name):
        found.append(
            f"project_name {name!r} is invalid: use 1-80 characters (letters, digits, "
            "spaces, '.', '-', '_'), starting with a letter or digit."
        )
    slug = str(answers.get("project_slug", ""))
    if not SLUG_RE.fullmatch(slug) or keyword.iskeyword(slug):
        found.append(
            f"project_slug {slug!r} is invalid: use 2-40 lowercase letters, digits or "
            "underscores, starting with a letter and not ending with '_' (it must be a Python "
            "identifier and, with '-' for '_', a valid Function app name)."
        )
    choices = (
        ("python_version", PYTHON_VERSIONS),
        ("durable_backend", BACKENDS),
        ("http_auth_level", AUTH_LEVELS),
    )
    for key, accepted in choices:
        value = str(answers.get(key, ""))
        if value not in accepted:
            found.append(f"{key} {value!r} is not supported: choose one of {', '.join(accepted)}.")
    for key in FLAGS:
        flag = answers.get(key)
        if not isinstance(flag, bool):
            found.append(f"{key} {flag!r} is invalid: answer yes or no (true or false).")
    version = str(answers.get("python_version", ""))
    if (
        answers.get("include_azd_infra") is True
        and version in PYTHON_VERSIONS
        and version not in FLEX_PYTHON_VERSIONS
    ):
        found.append(
            f"include_azd_infra is not available with python_version {version!r}: Flex "
            f"Consumption runs Python {', '.join(FLEX_PYTHON_VERSIONS)}; choose one of those "
            "or answer no (the app itself runs locally on any supported version)."
        )
    return found


def validate(answers: dict[str, object]) -> str | None:
    """The first problem with the answers, or None when they are all valid."""
    found = problems(answers)
    return found[0] if found else None


if __name__ == "__main__":
    found = problems(json.loads(ANSWERS_JSON))
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    if found:
        sys.exit(1)
