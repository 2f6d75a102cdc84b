"""The public surface: every import path and name of azure-functions-durable 1.7 exists here.

Changing ``import azure.durable_functions as df`` to ``import durable_functions as df``
must be the only edit user code needs, including deep imports such as
``from azure.durable_functions.models.Task import TaskBase``.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.util
import inspect
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import durable_functions

TOP_LEVEL = [
    "Blueprint",
    "DFApp",
    "DurableEntityContext",
    "DurableFunctionsCompatibilityWarning",
    "DurableOrchestrationClient",
    "DurableOrchestrationContext",
    "Entity",
    "EntityId",
    "ManagedIdentityTokenSource",
    "OrchestrationRuntimeStatus",
    "Orchestrator",
    "RetryOptions",
]

# Module path below ``durable_functions`` -> names user code imports from it.
DEEP_PATHS: dict[str, list[str]] = {
    "models": [
        "DurableOrchestrationBindings",
        "DurableOrchestrationClient",
        "DurableEntityContext",
        "DurableOrchestrationContext",
        "DurableHttpRequest",
        "ManagedIdentityTokenSource",
        "OrchestratorState",
        "OrchestrationRuntimeStatus",
        "PurgeHistoryResult",
        "RetryOptions",
        "TaskBase",
    ],
    "models.Task": [
        "TaskBase",
        "TaskState",
        "AtomicTask",
        "CompoundTask",
        "TimerTask",
        "WhenAllTask",
        "WhenAnyTask",
        "LongTimerTask",
        "RetryAbleTask",
    ],
    "models.DurableOrchestrationStatus": ["DurableOrchestrationStatus"],
    "models.EntityStateResponse": ["EntityStateResponse"],
    "models.PurgeHistoryResult": ["PurgeHistoryResult"],
    "models.DurableHttpRequest": ["DurableHttpRequest"],
    "models.TokenSource": ["TokenSource", "ManagedIdentityTokenSource"],
    "models.RetryOptions": ["RetryOptions"],
    "models.OrchestrationRuntimeStatus": ["OrchestrationRuntimeStatus"],
    "models.ReplaySchema": ["ReplaySchema"],
    "models.OrchestratorState": ["OrchestratorState"],
    "models.DurableOrchestrationContext": ["DurableOrchestrationContext"],
    "models.DurableOrchestrationClient": ["DurableOrchestrationClient"],
    "models.DurableEntityContext": ["DurableEntityContext"],
    "models.DurableOrchestrationBindings": ["DurableOrchestrationBindings"],
    "models.RpcManagementOptions": ["RpcManagementOptions"],
    "models.FunctionContext": ["FunctionContext"],
    "models.history": ["HistoryEvent", "HistoryEventType"],
    "models.history.HistoryEvent": ["HistoryEvent"],
    "models.history.HistoryEventType": ["HistoryEventType"],
    "models.actions": [
        "Action",
        "ActionType",
        "CallActivityAction",
        "CallActivityWithRetryAction",
        "CallSubOrchestratorAction",
        "CallHttpAction",
        "WaitForExternalEventAction",
        "CreateTimerAction",
        "WhenAnyAction",
        "WhenAllAction",
    ],
    **{
        f"models.actions.{name}": [name]
        for name in (
            "Action",
            "ActionType",
            "CallActivityAction",
            "CallActivityWithRetryAction",
            "CallEntityAction",
            "CallHttpAction",
            "CallSubOrchestratorAction",
            "CallSubOrchestratorWithRetryAction",
            "CompoundAction",
            "ContinueAsNewAction",
            "CreateTimerAction",
            "NoOpAction",
            "SignalEntityAction",
            "WaitForExternalEventAction",
            "WhenAllAction",
            "WhenAnyAction",
        )
    },
    "models.entities": ["RequestMessage", "OperationResult", "EntityState", "Signal"],
    **{
        f"models.entities.{name}": [name]
        for name in (
            "EntityState",
            "OperationResult",
            "RequestMessage",
            "ResponseMessage",
            "Signal",
        )
    },
    "models.utils.entity_utils": ["EntityId"],
    "models.utils.df_serialization": ["df_dumps", "df_loads"],
    "models.utils.json_utils": [
        "add_attrib",
        "add_datetime_attrib",
        "add_json_attrib",
        "parse_timespan_attrib",
    ],
    "orchestrator": ["Orchestrator"],
    "entity": ["Entity", "InternalEntityException"],
    "decorators.durable_app": ["DFApp", "Blueprint"],
    "decorators.metadata": [
        "OrchestrationTrigger",
        "ActivityTrigger",
        "EntityTrigger",
        "DurableClient",
    ],
    "constants": [
        "DEFAULT_LOCAL_HOST",
        "DEFAULT_LOCAL_ORIGIN",
        "DATETIME_STRING_FORMAT",
        "HTTP_ACTION_NAME",
        "ORCHESTRATION_TRIGGER",
        "ACTIVITY_TRIGGER",
        "ENTITY_TRIGGER",
        "DURABLE_CLIENT",
    ],
    "testing": ["orchestrator_generator_wrapper"],
}

# The openai_agents preview needs the optional openai-agents package (the `openai` extra).
HAS_AGENTS = all(importlib.util.find_spec(name) is not None for name in ("agents", "openai"))
if HAS_AGENTS:
    DEEP_PATHS["openai_agents"] = ["DurableAIAgentContext"]
    DEEP_PATHS["openai_agents.exceptions"] = ["YieldException"]

# Reference members deliberately absent here (each is listed in docs/compatibility.md).
NOT_PROVIDED: dict[str, str] = {}


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_name_is_exported(name: str) -> None:
    assert name in durable_functions.__all__
    assert getattr(durable_functions, name) is not None


def test_openai_agents_is_listed_only_where_its_packages_are_installed() -> None:
    assert ("openai_agents" in durable_functions.__all__) == HAS_AGENTS


@pytest.mark.parametrize("name", ["validate_extension_bundles", "validate_v1_programming_model"])
def test_validators_are_importable_at_top_level(name: str) -> None:
    assert callable(getattr(durable_functions, name))


@pytest.mark.parametrize(("path", "names"), list(DEEP_PATHS.items()), ids=list(DEEP_PATHS))
def test_deep_import_path_exports_its_names(path: str, names: list[str]) -> None:
    module = importlib.import_module(f"durable_functions.{path}")
    missing = [name for name in names if not hasattr(module, name)]
    assert missing == []


def test_deep_paths_reexport_the_real_classes() -> None:
    from durable_functions.entity import EntityId
    from durable_functions.models.utils.entity_utils import EntityId as DeepEntityId

    assert DeepEntityId is EntityId


@pytest.mark.parametrize("name", ["models", "decorators", "constants", "orchestrator", "entity"])
def test_subpackages_are_reachable_as_attributes(name: str) -> None:
    assert inspect.ismodule(getattr(durable_functions, name))


def test_unknown_top_level_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = durable_functions.no_such_name  # type: ignore[attr-defined]


def test_importing_the_package_loads_neither_azure_functions_nor_the_app_layer() -> None:
    code = (
        "import sys, durable_functions\n"
        "heavy = ('azure.functions', 'durable_functions.app', 'durable_functions.client',"
        " 'pydantic')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    env = {"PYTHONPATH": str(Path(durable_functions.__file__).parent.parent), "PATH": ""}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_importing_the_package_emits_no_warning(tmp_path: Path) -> None:
    """Unlike the reference, import runs no configuration checks (even in a v1 app folder)."""
    (tmp_path / "host.json").write_text('{"extensionBundle": {"version": "[1.*, 2.0.0)"}}')
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "function.json").write_text("{}")
    code = "import durable_functions, durable_functions.entity"
    env = {"PYTHONPATH": str(Path(durable_functions.__file__).parent.parent), "PATH": ""}
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, env=env, cwd=tmp_path)


# --- signatures against the reference --------------------------------------

REFERENCE_MODULES = ["", *DEEP_PATHS]
# Internal modules of the reference that user code does not import:
# models.TaskOrchestrationExecutor, models.utils.http_utils, models.utils.type_discovery.


def _public_names(module: Any) -> list[str]:
    if hasattr(module, "__all__"):
        return [n for n in module.__all__ if n != "openai_agents"]
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module.__name__
    ]


def _default(value: Any) -> Any:
    if (
        value is inspect.Parameter.empty
        or value is None
        or isinstance(value, (str, int, float, bool, enum.Enum))
    ):
        return value
    return f"<{type(value).__name__}>"


def _signature(fn: Any) -> tuple[Any, ...]:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return ("<no signature>",)
    return (
        tuple((p.name, p.kind.name, _default(p.default)) for p in parameters),
        "async" if inspect.iscoroutinefunction(fn) else "sync",
    )


def _member_kind(cls: type, name: str) -> str:
    for klass in cls.__mro__:
        if name in vars(klass):
            raw = vars(klass)[name]
            if isinstance(raw, property):
                return "property" + ("(settable)" if raw.fset else "")
            if isinstance(raw, staticmethod):
                return "staticmethod"
            if isinstance(raw, classmethod):
                return "classmethod"
            return "method" if callable(raw) else "attribute"
    return "missing"


def _is_field(cls: Any, name: str) -> bool:
    if dataclasses.is_dataclass(cls) and name in {f.name for f in dataclasses.fields(cls)}:
        return True
    return any(
        isinstance(vars(klass).get(name), types.MemberDescriptorType) for klass in cls.__mro__
    )


def _own_members(cls: type) -> list[str]:
    """Public members the reference defines itself (not inherited from azure.functions)."""
    names = {"__init__"} if "__init__" in vars(cls) else set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("azure.durable_functions"):
            names.update(n for n in vars(klass) if not n.startswith("_"))
    return sorted(names)


def _compare(path: str, name: str, theirs: Any, ours: Any) -> list[str]:
    where = f"{path or '<top>'}:{name}"
    if isinstance(theirs, type) and issubclass(theirs, enum.Enum):
        my_members = {m.name: m.value for m in ours} if isinstance(ours, enum.EnumMeta) else None
        members = {m.name: m.value for m in theirs}
        return [] if my_members == members else [f"{where}: enum {my_members} != {members}"]
    if isinstance(theirs, type):
        problems = []
        for member in _own_members(theirs):
            qualified = f"{name}.{member}"
            if qualified in NOT_PROVIDED:
                continue
            kind = _member_kind(theirs, member)
            my_kind = _member_kind(ours, member)
            if kind.startswith("property") and _is_field(ours, member):
                continue  # a (dataclass/slot) field reads exactly like a property
            if kind != my_kind:
                problems.append(f"{where}.{member}: {my_kind} != reference {kind}")
                continue
            if kind in ("method", "staticmethod", "classmethod"):
                mine, expected = (
                    _signature(getattr(ours, member)),
                    _signature(getattr(theirs, member)),
                )
                if mine != expected:
                    problems.append(f"{where}.{member}: {mine} != reference {expected}")
        return problems
    if callable(theirs):
        mine, expected = _signature(ours), _signature(theirs)
        return [] if mine == expected else [f"{where}: {mine} != reference {expected}"]
    return [] if ours == theirs else [f"{where}: {ours!r} != reference {theirs!r}"]


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("path", sorted(set(REFERENCE_MODULES)), ids=lambda p: p or "<top>")
def test_public_callables_match_the_reference_signatures(path: str) -> None:
    """Parameter names, kinds and defaults, sync/async and member kinds agree."""
    reference = importlib.import_module("azure.durable_functions" + (f".{path}" if path else ""))
    ours = importlib.import_module("durable_functions" + (f".{path}" if path else ""))
    problems: list[str] = []
    for name in _public_names(reference):
        if not hasattr(ours, name):
            problems.append(f"{path or '<top>'}:{name}: missing")
            continue
        problems += _compare(path, name, getattr(reference, name), getattr(ours, name))
    assert not problems, "\n".join(problems)
