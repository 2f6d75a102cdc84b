"""Internal structure the SDK relies on: read-only properties and the module layering."""

from __future__ import annotations

import ast
import inspect
import pickle
from pathlib import Path

import pytest

import durable_functions.entity as entity
import durable_functions.tasks as tasks
from durable_functions._readonly import ReadOnly
from durable_functions.context import DurableOrchestrationContext
from durable_functions.status import DurableOrchestrationStatus


class _Point:
    def __init__(self) -> None:
        self._x = 3

    x = ReadOnly[int]("_x", "The x.")


def test_read_only_property_reads_the_field_and_keeps_its_doc() -> None:
    assert _Point().x == 3
    assert isinstance(vars(_Point)["x"], property)
    assert inspect.getdoc(vars(_Point)["x"]) == "The x."


def test_read_only_property_cannot_be_set() -> None:
    with pytest.raises(AttributeError):
        _Point().x = 4  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("cls", "name", "doc"),
    [
        (DurableOrchestrationContext, "instance_id", "The id of this orchestration instance."),
        (DurableOrchestrationStatus, "instance_id", "The instance id."),
    ],
)
def test_public_properties_keep_their_docs(cls: type, name: str, doc: str) -> None:
    assert inspect.getdoc(vars(cls)[name]) == doc


def test_tasks_do_not_import_the_context() -> None:
    """Tasks schedule through ``TaskScheduler``; the context depends on tasks, not back."""
    tree = ast.parse(Path(tasks.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "durable_functions.context" not in imported


@pytest.mark.parametrize("name", entity.__all__)
def test_entity_names_keep_their_public_module(name: str) -> None:
    """Split into private modules, the entity types still say ``durable_functions.entity``."""
    assert getattr(entity, name).__module__ == "durable_functions.entity"


def test_entity_id_pickles_through_its_public_module() -> None:
    assert pickle.loads(pickle.dumps(entity.EntityId("counter", "k"))) == entity.EntityId(
        "counter", "k"
    )
