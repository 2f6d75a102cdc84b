"""The reference SDK's samples on our loader and on Microsoft's Python worker runtime.

The samples of the ``azure-functions-durable`` 1.7.0 sdist (``samples/``, function.json
apps, and ``samples-v2/``, decorator apps; fetched at test time, see
``apps/reference_samples.py``) are indexed by both engines, and the ones that run offline
are driven over HTTP on both (``sample_drivers`` says how) and compared with
``engine_kit``: statuses, outputs, custom statuses, reduced histories, HTTP answers. Each
runs with its import switched to ``durable_functions`` (``ours``) and unmodified on the
installed reference SDK (``reference``).

Samples that need an outside service stop at it the same way on both engines: the monitor
cannot reach GitHub, fan-in/fan-out cannot import or reach Azure Blob Storage. The v2
``fan_in_fan_out`` cannot be imported without its package (nor ``openai_agents`` without
``openai-agents`` and ``azure-identity``): both engines must refuse them for the same
missing module. ``openai_agents`` talks to a fake Azure OpenAI on 127.0.0.1
(``sample_drivers.FakeModelEnv``). Differences that are deliberate
(docs/compatibility.md) are mapped in ``DOCUMENTED_DIFFERENCES``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from apps.reference_samples import copy_sample
from engine_kit import ENGINES, assert_same_runs, engine_metadata, runtime_missing
from sample_drivers import SAMPLES, V1_SAMPLES, V2_SAMPLES

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:azure.functions df_:DeprecationWarning"),
]
MISSING = runtime_missing()
needs_runtime = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")

_LOAD_ERROR = re.compile(
    r"(cannot load the \w+ function: ModuleNotFoundError: No module named '[^']+').*", re.S
)


def _load_error_head(result: Any) -> Any:
    """docs/compatibility.md, Our loader and Microsoft's Python worker: a function.json
    function that fails to import fails when called, with our loader's error and the import
    traceback, or with the worker's message (its hint and sys.path added, no traceback).
    Both keep the head: which function, which module is missing."""
    assert _LOAD_ERROR.search(json.dumps(result)), result  # the difference is still there
    return _load_error_head_of(result)


def _load_error_head_of(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _load_error_head_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_load_error_head_of(v) for v in value]
    return _LOAD_ERROR.sub(r"\1", value) if isinstance(value, str) else value


DOCUMENTED_DIFFERENCES = {("fan_in_fan_out", "run"): _load_error_head}
"""Deliberate differences (compatibility.md): both results reduced to what they share."""


@needs_runtime
@pytest.mark.parametrize(
    ("kind", "name"),
    [("samples", n) for n in V1_SAMPLES] + [("samples-v2", n) for n in V2_SAMPLES],
)
def test_both_engines_index_the_sample_alike(
    sdist: Path, tmp_path: Path, switch_import: bool, kind: str, name: str
) -> None:
    app_dir = copy_sample(sdist, kind, name, tmp_path, switch_import=switch_import)
    described = SAMPLES.get(f"{kind}/{name}")
    env = described.env if described is not None else None
    ours, theirs = (engine_metadata(app_dir, engine, env) for engine in ENGINES)
    if "error" in theirs:  # a module the app imports is not installed: both refuse the app
        missing = _MISSING_MODULE.search(theirs["error"])
        assert missing is not None, theirs
        assert f"ModuleNotFoundError: No module named '{missing.group(1)}'" in ours.get(
            "error", ""
        ), ours
        assert f"{kind}/{name}" not in SAMPLES  # a sample that is run must load
        return
    assert ours == theirs
    kinds = {fn["kind"] for fn in ours["functions"]}
    assert "orchestrator" in kinds  # the comparison saw real functions


@needs_runtime
@pytest.mark.slow
@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_both_engines_run_the_sample_alike(
    sdist: Path, tmp_path: Path, switch_import: bool, sample: str
) -> None:
    described = SAMPLES[sample]
    app_dir = copy_sample(
        sdist, described.kind, described.name, tmp_path / "app", switch_import=switch_import
    )
    result = assert_same_runs(
        app_dir,
        tmp_path,
        described.cases(),
        described.calls,
        documented_both=DOCUMENTED_DIFFERENCES,
        env=described.env,
    )
    for name, run in described.runs.items():  # each ended as its driver expects
        assert result[name]["runtimeStatus"] == run.status, result[name]
