"""Print, as JSON, how one engine indexes the app in the current folder.

``python engine_metadata.py builtin|azure-functions-runtime``: the function list our loader
(``host/functions.py``) or Microsoft's worker runtime (``host/worker_runtime.py``) gives,
with every binding's name, type, direction and data type, normalised so the two compare.
Run in a subprocess: each engine imports the app's module once, for good.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from durable_functions.errors import HostError

ENGINE_FIELDS = (
    "name",
    "kind",
    "durable_name",
    "trigger_param",
    "client_param",
    "client_hub",
    "methods",
    "route",
    "auth_level",
    "wants_context",
    "trigger_type",
    "http_output",
)


def _text(value: Any) -> Any:
    """Enum members as their lower-case names (``BindingDirection.IN`` -> ``in``)."""
    if isinstance(value, list):
        return [_text(v) for v in value]
    name = getattr(value, "name", None)
    if name is not None and hasattr(value, "value"):
        return str(name).lower()
    return value.lower() if isinstance(value, str) else value


def _binding(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: _text(v) for k, v in raw.items()}
    out.setdefault("dataType", "undefined")
    return dict(sorted(out.items()))


def builtin(app_dir: Path) -> list[dict[str, Any]]:
    """Our loader's view, with the binding dicts it read from the decorators."""
    from durable_functions.host.functions_v1 import load_any_app

    return [_entry(fn, [dict(b) for b in fn.metadata]) for fn in load_any_app(app_dir).functions]


def worker(app_dir: Path) -> list[dict[str, Any]]:
    """The worker runtime's view: its ``RpcFunctionMetadata`` (raw bindings + binding info)."""
    from durable_functions.host.worker_runtime import load_worker_app, metadata_bindings

    app = load_worker_app(app_dir)
    return [
        _entry(fn, metadata_bindings(item))
        for fn, item in zip(app.functions, app.metadata, strict=True)
    ]


def _entry(fn: Any, bindings: list[dict[str, Any]]) -> dict[str, Any]:
    described = {k: getattr(fn, k) for k in ENGINE_FIELDS}
    described["methods"] = list(described["methods"])
    described["is_async"] = fn.is_async
    described["bindings"] = sorted((_binding(b) for b in bindings), key=lambda b: b["name"])
    return described


def main() -> int:
    engine = sys.argv[1]
    app_dir = Path.cwd()
    os.environ.setdefault("AzureWebJobsScriptRoot", str(app_dir))
    try:
        functions = builtin(app_dir) if engine == "builtin" else worker(app_dir)
    except HostError as exc:  # a refusal is a result too: both engines must refuse
        print(json.dumps({"error": str(exc)}))
        return 0
    print(json.dumps({"functions": functions}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
