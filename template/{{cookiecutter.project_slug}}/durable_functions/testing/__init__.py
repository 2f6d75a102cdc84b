"""Testing toolkit: in-memory runs in virtual time, a replayer and a determinism lint.

::

    from durable_functions.testing import OrchestrationTestEnv

    env = OrchestrationTestEnv(app)
    result = env.run("hello_chain", input=["Paris"], stubs={"say_hello": "hi"})

Names are resolved lazily so that importing this package (for example for the
``orchestrator_generator_wrapper`` of the reference SDK) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durable_functions.testing._client import TestDurableClient
    from durable_functions.testing._wrapper import orchestrator_generator_wrapper
    from durable_functions.testing.harness import (
        ActivityCall,
        ExternalEvent,
        OrchestrationResult,
        OrchestrationTestEnv,
        run_orchestration,
    )
    from durable_functions.testing.lint import Finding, lint_paths, lint_source
    from durable_functions.testing.replayer import (
        Mismatch,
        ReplayReport,
        load_histories,
        replay_files,
        replay_history,
    )

_LAZY: dict[str, str] = {
    "ActivityCall": "durable_functions.testing.harness",
    "ExternalEvent": "durable_functions.testing.harness",
    "Finding": "durable_functions.testing.lint",
    "Mismatch": "durable_functions.testing.replayer",
    "OrchestrationResult": "durable_functions.testing.harness",
    "OrchestrationTestEnv": "durable_functions.testing.harness",
    "ReplayReport": "durable_functions.testing.replayer",
    "TestDurableClient": "durable_functions.testing._client",
    "lint_paths": "durable_functions.testing.lint",
    "lint_source": "durable_functions.testing.lint",
    "load_histories": "durable_functions.testing.replayer",
    "orchestrator_generator_wrapper": "durable_functions.testing._wrapper",
    "replay_files": "durable_functions.testing.replayer",
    "replay_history": "durable_functions.testing.replayer",
    "run_orchestration": "durable_functions.testing.harness",
}

__all__ = [
    "ActivityCall",
    "ExternalEvent",
    "Finding",
    "Mismatch",
    "OrchestrationResult",
    "OrchestrationTestEnv",
    "ReplayReport",
    "TestDurableClient",
    "lint_paths",
    "lint_source",
    "load_histories",
    "orchestrator_generator_wrapper",
    "replay_files",
    "replay_history",
    "run_orchestration",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'durable_functions.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
