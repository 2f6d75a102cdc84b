"""``make demo`` works: it generates an app, runs every sample on the local host and stops."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from template_kit import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_runs_every_sample_orchestration_to_completion() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"Done: (\d+)/\1 orchestrations completed", done.stdout), done.stdout
