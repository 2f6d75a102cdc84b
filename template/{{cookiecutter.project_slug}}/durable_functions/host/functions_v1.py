"""Load a v1 (``function.json``) Python function app the way the Python worker loads it.

Every folder of the app holding a ``function.json`` is one function, named after the
folder. Its ``scriptFile`` (default ``__init__.py``) is imported as a module of the
``__app__`` package, whose path is the app folder (so ``from __app__.shared import x``
and ``from ..shared_code import y`` work), and ``entryPoint`` (default ``main``) is the
function. The bindings of ``function.json`` say which parameter gets what; parameters
and bindings must match, with the worker's error when they do not.

A function that cannot be loaded (an import that fails, a missing entry point, a
parameter mismatch) does not stop the host, as in Azure: it is listed at start-up with
its error, and calling it fails with that error.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from durable_functions.errors import HostError
from durable_functions.host.bindings import Binding
from durable_functions.host.functions import (
    CLIENT_TYPES,
    DURABLE_NAME_PROPERTY,
    KIND_HTTP,
    KIND_OTHER,
    TRIGGER_KINDS,
    AppFunction,
    LoadedApp,
    load_app,
)

log = logging.getLogger("durable_functions.host")

APP_PACKAGE = "__app__"
"""The package the worker imports a v1 app's folders under."""


class FunctionLoadError(HostError):
    """A v1 function could not be loaded; calling it raises this (the worker's wording)."""

    def __init__(self, function_name: str, message: str) -> None:
        super().__init__(f"cannot load the {function_name} function: {message}")


def function_folders(app_dir: Path) -> list[Path]:
    """The folders of ``app_dir`` holding a ``function.json``, sorted by name."""
    if not app_dir.is_dir():
        return []
    return sorted(
        p
        for p in app_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "function.json").is_file()
    )


def is_v1_app(app_dir: Path) -> bool:
    """Whether ``app_dir`` is a v1 app: no ``function_app.py``, some ``function.json`` folder."""
    return not (app_dir / "function_app.py").is_file() and bool(function_folders(app_dir))


def load_any_app(app_dir: Path) -> LoadedApp:
    """Load the app in ``app_dir``: ``function_app.py`` (v2) if present, else its v1 folders.

    Raises:
        HostError: neither kind of app is there, or it cannot be loaded.
    """
    app_dir = app_dir.resolve()
    if is_v1_app(app_dir):
        return load_v1_app(app_dir)
    return load_app(app_dir)


def load_v1_app(app_dir: Path) -> LoadedApp:
    """Index every ``function.json`` folder of ``app_dir`` and import its script.

    Raises:
        HostError: a ``function.json`` cannot be read or declares no trigger, or the
            folder holds no function at all.
    """
    app_dir = app_dir.resolve()
    folders = function_folders(app_dir)
    if not folders:
        raise HostError(f"no function_app.py and no function.json folders in {app_dir}")
    install_app_package(app_dir)
    functions: list[AppFunction] = []
    for folder in folders:
        config = read_function_json(folder)
        if config.get("disabled") is True:
            log.info("%s is disabled in its function.json: not loaded", folder.name)
            continue
        functions.append(_describe(app_dir, folder, config))
    if not functions:
        raise HostError(f"every function of {app_dir} is disabled")
    return LoadedApp(app_dir, functions)


def install_app_package(app_dir: Path) -> None:
    """Make ``app_dir`` the ``__app__`` package (replacing another app's) and importable."""
    current = sys.modules.get(APP_PACKAGE)
    if current is not None and list(getattr(current, "__path__", ())) != [str(app_dir)]:
        for name in [n for n in sys.modules if n == APP_PACKAGE or n.startswith("__app__.")]:
            del sys.modules[name]
        current = None
    if current is None:
        package = ModuleType(APP_PACKAGE)
        package.__path__ = [str(app_dir)]
        package.__package__ = APP_PACKAGE
        sys.modules[APP_PACKAGE] = package
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))  # the worker puts the script root on sys.path too


def read_function_json(folder: Path) -> dict[str, Any]:
    """The folder's ``function.json``: an object whose bindings each have a type and a name.

    Raises:
        HostError: unreadable, or not of that shape.
    """
    path = folder / "function.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise HostError(f"cannot read {folder.name}/function.json: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("bindings"), list):
        raise HostError(f"{folder.name}/function.json must be an object with a bindings list")
    for binding in data["bindings"]:
        if not isinstance(binding, dict) or not isinstance(binding.get("type"), str):
            raise HostError(f"{folder.name}/function.json: every binding needs a type")
        if not isinstance(binding.get("name"), str):
            raise HostError(
                f"{folder.name}/function.json: the {binding['type']} binding needs a name"
            )
    return data


def _trigger(folder: Path, bindings: list[dict[str, Any]]) -> dict[str, Any]:
    triggers = [b for b in bindings if str(b["type"]).lower().endswith("trigger")]
    if len(triggers) != 1:
        raise HostError(
            f"{folder.name}/function.json must declare exactly one trigger, found {len(triggers)}"
        )
    return triggers[0]


def _describe(app_dir: Path, folder: Path, config: dict[str, Any]) -> AppFunction:
    """One AppFunction for the function in ``folder``."""
    name = folder.name
    bindings: list[dict[str, Any]] = config["bindings"]
    trigger = _trigger(folder, bindings)
    trigger_type = str(trigger["type"])
    kind = TRIGGER_KINDS.get(trigger_type, KIND_OTHER)
    client = next((b for b in bindings if b["type"] in CLIENT_TYPES), None)
    http_out = next((b for b in bindings if b["type"] == "http" and _direction(b) != "in"), None)
    others = tuple(
        Binding(str(b["name"]), str(b["type"]), _direction(b))
        for b in bindings
        if b is not trigger and b is not client and b["name"] != "$return"
    )
    func, wants_context = _load_entry(app_dir, folder, config, bindings)
    durable_prop = DURABLE_NAME_PROPERTY.get(kind)
    durable_name = str((trigger.get(durable_prop) if durable_prop else None) or name)
    methods: tuple[str, ...] = ()
    if kind == KIND_HTTP:
        methods = tuple(str(m).upper() for m in (trigger.get("methods") or ()))
    return AppFunction(
        name=name,
        kind=kind,
        durable_name=durable_name,
        func=func,
        trigger_param=str(trigger["name"]),
        client_param=str(client["name"]) if client else None,
        client_hub=str(client["taskHub"]) if client and client.get("taskHub") else None,
        methods=methods,
        route=str(trigger.get("route") or name).strip("/"),
        auth_level=str(trigger.get("authLevel") or "function").lower(),
        wants_context=wants_context,
        trigger_type=trigger_type,
        bindings=others,
        http_output=(
            str(http_out["name"])
            if http_out is not None and http_out["name"] != "$return"
            else None
        ),
        directory=folder,
        metadata=tuple(bindings),
    )


def _direction(binding: dict[str, Any]) -> str:
    return str(binding.get("direction") or "in").lower()


def _load_entry(
    app_dir: Path, folder: Path, config: dict[str, Any], bindings: list[dict[str, Any]]
) -> tuple[Callable[..., Any], bool]:
    """Import the function's script and check its parameters against the bindings.

    On failure, returns a stand-in that raises the load error when called.
    """
    name = folder.name
    try:
        func = _import_entry(app_dir, folder, config)
        wants_context = _check_parameters(name, func, bindings)
    except FunctionLoadError as exc:
        log.error("%s", exc)
        return _failing(exc), False
    return func, wants_context


def _import_entry(app_dir: Path, folder: Path, config: dict[str, Any]) -> Callable[..., Any]:
    name = folder.name
    script = (folder / str(config.get("scriptFile") or "__init__.py")).resolve()
    entry = str(config.get("entryPoint") or "main")
    try:
        relative = script.relative_to(app_dir)
    except ValueError:
        raise FunctionLoadError(
            name, f"script file {script} is not inside the app folder"
        ) from None
    if script.suffix != ".py":
        raise FunctionLoadError(name, f"invalid Python filename {relative}")
    if not script.is_file():
        raise FunctionLoadError(name, f"script file {relative} does not exist")
    parts = [APP_PACKAGE, *relative.parts[:-1]]
    if script.stem.lower() != "__init__":
        parts.append(script.stem)
    try:
        module = importlib.import_module(".".join(parts))
    except Exception as exc:
        raise FunctionLoadError(name, f"{type(exc).__name__}: {exc}") from exc
    func = getattr(module, entry, None)
    if func is None or not callable(func):
        raise FunctionLoadError(name, f"function {entry}() is not present in {relative}")
    return func  # type: ignore[no-any-return]


def _check_parameters(name: str, func: Callable[..., Any], bindings: list[dict[str, Any]]) -> bool:
    """The worker's check that parameters and bindings match; True if ``context`` is extra."""
    try:
        params = set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return False
    bound = {str(b["name"]) for b in bindings if b["name"] != "$return"}
    wants_context = "context" in params and "context" not in bound
    if wants_context:
        params.discard("context")
    if params - bound:
        raise FunctionLoadError(
            name,
            "the following parameters are declared in Python but not in "
            f"function.json: {params - bound!r}",
        )
    if bound - params:
        raise FunctionLoadError(
            name,
            "the following parameters are declared in function.json but not in "
            f"Python: {bound - params!r}",
        )
    return wants_context


def _failing(error: FunctionLoadError) -> Callable[..., Any]:
    def not_loaded(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    not_loaded.load_error = error  # type: ignore[attr-defined]
    return not_loaded
