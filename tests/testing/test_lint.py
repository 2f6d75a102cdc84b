"""``durable lint``: the corpus of true and false positives, and the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from durable_functions.cli import main as durable
from durable_functions.errors import DurableError
from durable_functions.testing.lint import RULES, lint_paths, lint_source

CORPUS = Path(__file__).parent / "lint_corpus"
EXPECT = re.compile(r"#.*expect:\s*(?P<codes>DF\d{3}(?:\s*,\s*DF\d{3})*)")


def expected_findings(path: Path) -> set[tuple[int, str]]:
    """The ``# expect: DF00x`` markers of a corpus file: the spec the lint must meet."""
    found: set[tuple[int, str]] = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found.update((number, code.strip()) for code in match.group("codes").split(","))
    return found


@pytest.mark.parametrize("corpus_file", sorted(CORPUS.glob("*.py")), ids=lambda p: p.stem)
def test_lint_reports_exactly_the_marked_lines_of_each_corpus_file(corpus_file: Path) -> None:
    findings = lint_paths([corpus_file])

    assert {(f.line, f.code) for f in findings} == expected_findings(corpus_file)


def test_corpus_covers_every_rule_with_a_true_positive() -> None:
    marked = {code for path in CORPUS.glob("*.py") for _, code in expected_findings(path)}

    assert marked == set(RULES)


def test_false_positive_corpus_has_orchestrators_and_no_findings() -> None:
    source = (CORPUS / "false_positives.py").read_text()

    assert "orchestration_trigger" in source
    assert lint_source(source, "false_positives.py") == []


def test_each_finding_names_the_deterministic_alternative() -> None:
    source = (
        "import datetime\n"
        "@app.orchestration_trigger(context_name='context')\n"
        "def orch(context):\n"
        "    when = datetime.datetime.now()\n"
        "    yield context.call_activity('a', str(when))\n"
    )

    [finding] = lint_source(source, "app.py")

    assert str(finding).startswith("app.py:4: DF001 datetime.datetime.now()")
    assert "use context.current_utc_datetime" in finding.message


def test_code_outside_orchestrators_is_not_checked() -> None:
    source = "import datetime\ndef activity(name):\n    return datetime.datetime.now()\n"

    assert lint_source(source) == []


def test_a_local_name_shadowing_a_module_is_not_reported() -> None:
    source = (
        "class random:\n"
        "    @staticmethod\n"
        "    def pick(x):\n"
        "        return x[0]\n"
        "@app.orchestration_trigger(context_name='context')\n"
        "def orch(context):\n"
        "    yield context.call_activity('a', random.pick([1]))\n"
    )

    assert lint_source(source) == []


def test_unparseable_source_is_a_durable_error_with_the_line() -> None:
    with pytest.raises(DurableError, match=r"broken.py:1: cannot parse"):
        lint_source("def (:\n", "broken.py")


def test_cli_prints_findings_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "clock_and_random.py"

    code = durable(["lint", str(path)])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert (
        lines[0] == f"{path}:19: DF001 datetime.now(): {RULES['DF001'].title}; {RULES['DF001'].fix}"
    )
    assert len(lines) == len(expected_findings(path))


def test_cli_exits_0_on_clean_code(capsys: pytest.CaptureFixture[str]) -> None:
    code = durable(["lint", str(CORPUS / "false_positives.py")])

    assert code == 0
    assert capsys.readouterr().out == ""


def test_cli_ignore_option_skips_codes_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    code = durable(["lint", "--ignore", "DF005,DF006,DF007", str(CORPUS / "env_and_io.py")])

    assert code == 0
    assert capsys.readouterr().out == ""


def test_cli_walks_folders_and_skips_virtualenvs(tmp_path: Path) -> None:
    bad = "@app.orchestration_trigger(context_name='context')\ndef o(context):\n    open('x')\n"
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "orchestrators.py").write_text(bad)
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "vendored.py").write_text(bad)

    findings = lint_paths([tmp_path])

    assert [(Path(f.path).name, f.code) for f in findings] == [("orchestrators.py", "DF006")]


def test_cli_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = durable(["lint", str(tmp_path / "nope.py")])

    assert code == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_durable_lint_runs_as_a_command(tmp_path: Path) -> None:
    app = tmp_path / "function_app.py"
    app.write_text(
        "import time\n"
        "@app.orchestration_trigger(context_name='context')\n"
        "def o(context):\n"
        "    time.sleep(1)\n"
        "    yield context.call_activity('a')\n"
    )

    done = subprocess.run(
        [sys.executable, "-m", "durable_functions", "lint", str(app)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(Path(__file__).parents[2] / "sdk")},
        check=False,
    )

    assert done.returncode == 1
    assert done.stdout.startswith(f"{app}:4: DF007 time.sleep()")
