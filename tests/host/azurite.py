"""Azurite, Microsoft's Azure Storage emulator: its blob service for the tests that need one.

Azurite is an npm package. A test session installs it once per machine with npm (into
pytest's cache folder) and each test starts its own blob service in a subprocess, on a
free port of 127.0.0.1 with a fresh data folder, stopped afterwards. Outside CI a
machine without node/npm (or without the download) skips those tests with the reason;
in CI (``CI=true``) they must run, so a missing piece fails.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest
from apps.harness import stop_process
from browser import in_ci

# 3.36+ declares node >= 21; 3.35 runs on the node of Debian 12 (18) and newer.
PACKAGE = "azurite@3.35.0"
BLOB_MAIN = Path("node_modules", "azurite", "dist", "src", "blob", "main.js")
_LISTENING = re.compile(r"listens on http://127\.0\.0\.1:(\d+)")
# Azurite's single built-in account, with the key its documentation publishes.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def unavailable(reason: str) -> NoReturn:
    """Skip (on a developer's machine) or fail (in CI) for want of Azurite."""
    if in_ci():
        pytest.fail(f"{reason} (CI must run the Azurite tests; .ci/run installs node and npm)")
    pytest.skip(reason)


def blob_sdk() -> ModuleType:
    """``azure.storage.blob`` (in the dev extra: tests read the blobs back with it)."""
    try:
        return importlib.import_module("azure.storage.blob")
    except ImportError:
        unavailable("azure-storage-blob is not installed (pip install -e '.[dev]')")


def install(cache: Path) -> Path:
    """Azurite's blob service entry point under ``cache``, installed with npm on first use."""
    folder = cache / PACKAGE.replace("@", "-")
    if (folder / BLOB_MAIN).is_file():
        return folder / BLOB_MAIN
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        unavailable("Azurite needs node and npm, which are not on PATH")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        prefix = Path(scratch) / "azurite"
        command = [str(npm), "install", "--prefix", str(prefix), PACKAGE, "--no-save"]
        done = subprocess.run(
            [*command, "--no-audit", "--no-fund", "--loglevel=error"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0 or not (prefix / BLOB_MAIN).is_file():
            unavailable(f"cannot install {PACKAGE} with npm: {done.stderr.strip()[:400]}")
        try:
            os.replace(prefix, folder)  # atomic: parallel workers may race here
        except OSError:
            if not (folder / BLOB_MAIN).is_file():
                raise
    return folder / BLOB_MAIN


def connection_string(port: int) -> str:
    """The ``AzureWebJobsStorage`` value of a blob-only account on ``port``."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


@contextmanager
def blob_service(main: Path, data: Path) -> Iterator[str]:
    """Run Azurite's blob service on a free port, storing in ``data``; yields its connection string.

    ``--skipApiVersionCheck``: the installed ``azure-storage-blob`` may speak a newer
    API version than this Azurite knows.
    """
    node = shutil.which("node")
    if node is None:
        unavailable("Azurite needs node, which is not on PATH")
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / "azurite.log"
    command = [str(node), str(main), "--blobHost", "127.0.0.1", "--blobPort", "0"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--location", str(data), "--skipApiVersionCheck"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while (found := _LISTENING.search(log.read_text(errors="replace"))) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Azurite did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield connection_string(int(found.group(1)))
    finally:
        stop_process(process, 10)
