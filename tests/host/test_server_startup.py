"""``durable start`` refuses to start with a clear message instead of a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from apps.harness import copy_app, launch

pytestmark = pytest.mark.e2e


def _start(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable_functions", "start", "--port", "0", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_folder_without_an_app_exits_2_with_a_message(tmp_path: Path) -> None:
    result = _start(tmp_path, "--db", str(tmp_path / "db.sqlite3"))
    assert result.returncode == 2
    assert "durable start: error: no function_app.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_host_on_the_same_database_is_refused(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    db = tmp_path / "hub.sqlite3"
    host = launch(app_dir, db)
    try:
        result = _start(app_dir, "--db", str(db))
    finally:
        host.stop()
    assert result.returncode == 2
    assert "another host is already serving" in result.stderr


def test_the_default_database_lives_in_the_app_folder(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "durable_functions", "start", "--port", "0"],
        cwd=app_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Host started" in line:
                break
        assert (app_dir / ".durable" / "taskhub.sqlite3").is_file()
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert process.returncode == 0


def test_the_hub_option_overrides_host_json(tmp_path: Path) -> None:
    app_dir = copy_app("sdk_app", tmp_path)
    host = launch(app_dir, tmp_path / "hub.sqlite3", args=("--hub", "OtherHub"))
    try:
        reply = host.request("POST", "/api/orchestrators/chain", json_body=1)
        assert "taskHub=OtherHub" in reply.json()["statusQueryGetUri"]
    finally:
        host.stop()
