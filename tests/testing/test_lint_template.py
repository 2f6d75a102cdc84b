"""The lint finds nothing in the app the project template generates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from durable_functions.testing import lint_paths

TEMPLATE = Path(__file__).resolve().parents[2] / "template"


@pytest.fixture(scope="module")
def generated_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lint-app")
    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(out)))


def test_the_generated_app_has_no_findings(generated_app: Path) -> None:
    assert lint_paths([generated_app]) == []


def test_the_generated_orchestrators_are_checked(generated_app: Path, tmp_path: Path) -> None:
    """It reports a wall-clock read slipped into a generated orchestrator (so the check is real)."""
    source = (generated_app / "orchestrations.py").read_text()
    changed, count = re.subn(
        r"(def hello_chain\(context[^)]*\)[^:]*:\n)",
        r"\1    import datetime\n    started = datetime.datetime.now()\n",
        source,
    )
    assert count == 1
    target = tmp_path / "orchestrations.py"
    target.write_text(changed)

    findings = lint_paths([target])

    assert [f.line for f in findings] == [
        changed.splitlines().index("    started = datetime.datetime.now()") + 1
    ]
