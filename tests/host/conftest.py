"""Fixtures for the engine and runner tests: an in-memory app over either SDK."""

from __future__ import annotations

import contextlib
import importlib
import json
import warnings
from collections.abc import Callable, Collection, Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import azurite
import pytest
from apps.reference_samples import fetch_reference_sdist

from durable_functions.host.driver import Episodes
from durable_functions.host.management import start as start_orchestration
from durable_functions.host.memory import MemoryBackend
from durable_functions.host.runner import VirtualClock, run_until_idle

START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)


@contextlib.contextmanager
def _quiet_converters() -> Iterator[None]:
    """azure.functions warns once about ``df_loads`` without ``expected_type``; not our concern."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"azure\.functions")
        yield


class InMemoryApp:
    """An ``Invoker`` over plain Python functions, wrapped by the chosen SDK.

    Orchestrators and entities go through ``<sdk>.Orchestrator.create`` /
    ``<sdk>.Entity.create`` with the JSON payloads the host would send;
    activities get their input decoded and their result encoded as the
    worker's converter does.
    """

    def __init__(self, sdk: ModuleType) -> None:
        self.sdk = sdk
        self.orchestrators: dict[str, Callable[[str], str]] = {}
        self.activities: dict[str, Callable[[Any], Any]] = {}
        self.entities: dict[str, Callable[[str], str]] = {}
        self.calls: list[tuple[str, Any]] = []

    def orchestrator(self, name: str) -> Callable[[Any], Any]:
        def register(fn: Any) -> Any:
            self.orchestrators[name] = self.sdk.Orchestrator.create(fn)
            return fn

        return register

    def activity(self, name: str) -> Callable[[Any], Any]:
        def register(fn: Any) -> Any:
            self.activities[name] = fn
            return fn

        return register

    def entity(self, name: str) -> Callable[[Any], Any]:
        def register(fn: Any) -> Any:
            self.entities[name] = self.sdk.Entity.create(fn)
            return fn

        return register

    # -- Invoker

    def invoke_orchestrator(self, name: str, payload: str) -> str:
        with _quiet_converters():
            return self.orchestrators[name](payload)

    def invoke_activity(self, name: str, input_json: str) -> str:
        value = json.loads(input_json)
        self.calls.append((name, value))
        return json.dumps(self.activities[name](value))

    def invoke_entity(self, name: str, batch_payload: str) -> str:
        with _quiet_converters():
            return self.entities[name](batch_payload)

    def known_orchestrators(self) -> Collection[str]:
        return self.orchestrators.keys()

    def known_activities(self) -> Collection[str]:
        return self.activities.keys()

    def known_entities(self) -> Collection[str]:
        return self.entities.keys()


class Harness:
    """A MemoryBackend, a VirtualClock and an app, with shortcuts for tests."""

    def __init__(self, app: InMemoryApp) -> None:
        self.app = app
        self.backend = MemoryBackend()
        self.clock = VirtualClock(START)
        self._ids = (f"id-{n}" for n in range(1_000_000))

    def new_id(self) -> str:
        return next(self._ids)

    def start(self, name: str, value: Any = None, *, instance_id: str | None = None) -> str:
        """Start like the SDK's client does: the input is JSON text held as a string."""
        input_json = None if value is None else json.dumps(json.dumps(value))
        return start_orchestration(
            self.backend,
            name,
            now=self.clock.now(),
            instance_id=instance_id,
            input_json=input_json,
            new_id=self.new_id,
        )

    def run(
        self, *, config: Any = None, hooks: Any = None, sessions: Any = None, **kwargs: Any
    ) -> int:
        episodes = Episodes(config=config, new_id=self.new_id, hooks=hooks, sessions=sessions)
        return run_until_idle(self.backend, self.app, self.clock, episodes, **kwargs)

    def status(self, instance_id: str) -> str:
        instance = self.backend.get_instance(instance_id)
        assert instance is not None
        return instance.runtime_status.value

    def output(self, instance_id: str) -> Any:
        instance = self.backend.get_instance(instance_id)
        assert instance is not None and instance.output is not None
        return json.loads(instance.output)


SDKS = [
    pytest.param("azure.durable_functions", id="reference", marks=pytest.mark.reference),
    pytest.param("durable_functions", id="ours"),
]


@pytest.fixture(params=SDKS)
def sdk(request: pytest.FixtureRequest) -> ModuleType:
    """The SDK module the test's orchestrators are written against."""
    return importlib.import_module(request.param)


@pytest.fixture
def harness(sdk: ModuleType) -> Iterator[Harness]:
    """A fresh in-memory host for one test."""
    yield Harness(InMemoryApp(sdk))


@pytest.fixture(scope="session")
def sdist(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked ``azure-functions-durable`` 1.7.0 sdist: its samples, once per machine."""
    cache = getattr(pytestconfig, "cache", None)  # None under -p no:cacheprovider
    folder = cache.mkdir("reference-sdist") if cache is not None else None
    return fetch_reference_sdist(folder or tmp_path_factory.mktemp("reference-sdist"))


@pytest.fixture(scope="session")
def azurite_blob_main(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Azurite's blob service, installed with npm once per machine (skips or fails without npm)."""
    cache = getattr(pytestconfig, "cache", None)  # None under -p no:cacheprovider
    folder = cache.mkdir("azurite") if cache is not None else None
    return azurite.install(folder or tmp_path_factory.mktemp("azurite"))


@pytest.fixture
def azurite_storage(azurite_blob_main: Path, tmp_path: Path) -> Iterator[str]:
    """A fresh Azurite blob service on a free port for one test: its connection string."""
    with azurite.blob_service(azurite_blob_main, tmp_path / "azurite") as connection:
        yield connection


@pytest.fixture(
    params=[
        pytest.param(True, id="ours"),
        pytest.param(False, id="reference", marks=pytest.mark.reference),
    ]
)
def switch_import(request: pytest.FixtureRequest) -> bool:
    """Run a reference sample switched to ``durable_functions``, or unmodified on the reference."""
    if not request.param:
        pytest.importorskip("azure.durable_functions")
    return bool(request.param)
