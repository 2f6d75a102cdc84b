"""The sample apps of ``azure-functions-durable`` 1.7.0, fetched from its sdist on PyPI.

The samples are not copied into this repository: a test session downloads the sdist
once with pip (into pytest's cache folder) and every test copies the sample it runs
into its own temporary folder. ``samples/`` holds the v1 (``function.json``) apps,
``samples-v2/`` the decorator apps.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

SDIST = "azure-functions-durable==1.7.0"
ROOT = "azure_functions_durable-1.7.0"


def fetch_reference_sdist(cache: Path) -> Path:
    """The unpacked sdist under ``cache``, downloaded on first use; skips if PyPI is unreachable."""
    root = cache / ROOT
    if (root / "samples").is_dir() and (root / "samples-v2").is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        download = subprocess.run(
            [sys.executable, "-m", "pip", "download", SDIST, "--no-deps", "--no-binary", ":all:"]
            + ["--disable-pip-version-check", "-q", "-d", scratch],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        archives = list(Path(scratch).glob("*.tar.gz"))
        if download.returncode != 0 or not archives:
            pytest.skip(f"cannot download the {SDIST} sdist from PyPI: {download.stderr[-500:]}")
        with tarfile.open(archives[0]) as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(scratch, filter="data")
            else:  # Python without extraction filters; the archive comes from PyPI
                archive.extractall(scratch)  # noqa: S202
        try:
            os.replace(Path(scratch) / ROOT, root)  # atomic: parallel workers may race here
        except OSError:
            if not (root / "samples").is_dir():
                raise
    return root


def copy_sample(sdist: Path, kind: str, name: str, dest: Path, *, switch_import: bool) -> Path:
    """Copy ``<kind>/<name>`` to ``dest``; ``switch_import`` makes it import ``durable_functions``.

    Switching is the one change the SDK promises an app needs: every
    ``azure.durable_functions`` in its Python files becomes ``durable_functions``.
    """
    target = dest / name
    shutil.copytree(sdist / kind / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    if switch_import:
        for path in target.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("azure.durable_functions", "durable_functions"))
    return target
