"""Both SDKs, side by side: the reference (test oracle only) and ours."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase, settings

# One place for the differential suite's budget; CI runs the same examples every time
# (derandomize). Shrinking a many-episode example takes minutes, so it is opt-in: set
# DIFFERENTIAL_SHRINK=1 to get the smallest failing program.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
if os.environ.get("DIFFERENTIAL_SHRINK"):
    _PHASES.append(Phase.shrink)

settings.register_profile(
    "differential",
    max_examples=int(os.environ.get("DIFFERENTIAL_EXAMPLES", "200")),
    deadline=None,
    derandomize=True,
    database=None,
    phases=_PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DIFFERENTIAL = settings.get_profile("differential")


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """`azure.durable_functions` 1.7.0, imported only here and only as an oracle."""
    module: ModuleType = pytest.importorskip("azure.durable_functions")
    return module


@pytest.fixture(scope="session")
def ours() -> ModuleType:
    import durable_functions

    return durable_functions
