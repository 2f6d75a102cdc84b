"""The client's public surface matches azure-functions-durable 1.7 name for name."""

from __future__ import annotations

import importlib
import inspect

import pytest

from durable_functions import status as our_status
from durable_functions.client import DurableOrchestrationClient

pytestmark = pytest.mark.reference


ADDITIONS = frozenset({"list_entities"})
"""Methods the reference lacks, documented in docs/compatibility.md."""


def _public(cls: type) -> list[str]:
    return sorted(n for n in vars(cls) if not n.startswith("_"))


def test_client_has_the_reference_methods_and_the_documented_additions() -> None:
    from azure.durable_functions import DurableOrchestrationClient as Reference

    assert _public(DurableOrchestrationClient) == sorted([*_public(Reference), *ADDITIONS])


@pytest.mark.parametrize(
    "name",
    sorted(set(_public(DurableOrchestrationClient)) - ADDITIONS),
)
def test_client_method_has_the_reference_signature_and_async_kind(name: str) -> None:
    from azure.durable_functions import DurableOrchestrationClient as Reference

    ours, theirs = getattr(DurableOrchestrationClient, name), getattr(Reference, name)

    def shape(fn: object) -> list[tuple[str, object, object]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]

    assert shape(ours) == shape(theirs)
    assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs)


@pytest.mark.parametrize(
    "name",
    ["DurableOrchestrationStatus", "PurgeHistoryResult", "EntityStateResponse"],
)
def test_status_types_have_the_reference_properties(name: str) -> None:
    module = importlib.import_module(f"azure.durable_functions.models.{name}")
    ours, theirs = getattr(our_status, name), getattr(module, name)

    def properties(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    assert properties(theirs) <= properties(ours)
