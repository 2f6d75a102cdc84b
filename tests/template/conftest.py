"""Fixtures for the template tests: one git copy of the template and memoized renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from template_kit import DEFAULTS, Render, make_template_repo, render_cookiecutter, render_copier


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as users get it: a git repository, tagged v1.0.0."""
    return make_template_repo(tmp_path_factory.mktemp("template") / "repo")


@pytest.fixture(scope="session")
def render(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """``render(tool, **answers)`` -> the generated app folder; each combination rendered once."""
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], Path] = {}

    def _render(tool: str, **answers: Any) -> Path:
        full = {**DEFAULTS, **answers}
        key = (tool, tuple(sorted(full.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(f"{tool}-render")
            if tool == "cookiecutter":
                cache[key] = render_cookiecutter(template_repo, out / "out", full)
            elif tool == "copier":
                cache[key] = render_copier(template_repo, out / "app", full)
            else:
                raise ValueError(tool)
        return cache[key]

    return _render
