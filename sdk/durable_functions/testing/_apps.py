"""Turn what a test holds (a DFApp, a Blueprint, a module, a file, a v1 app folder) into the host's
function table.

The testing toolkit invokes functions exactly as the local host does, through
``durable_functions.host.functions.LoadedApp`` (the ``azure.functions`` converters),
so a test exercises the same code path as ``durable start`` and Azure.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from durable_functions.errors import HostError
from durable_functions.host.functions import LoadedApp, describe_functions
from durable_functions.host.functions_v1 import is_v1_app, load_v1_app
from durable_functions.host.settings import load_settings


def load_app_object(app: Any) -> LoadedApp:
    """Index ``app``: a DFApp, a Blueprint, a module, a ``function_app.py`` path, an app
    folder (v2, or v1 with ``function.json`` folders) or a LoadedApp.

    Raises:
        HostError: the object registers no functions, or the file cannot be imported.
    """
    if isinstance(app, LoadedApp):
        return app
    if isinstance(app, str | Path):
        if is_v1_app(Path(app)):
            return load_v1_app(Path(app))
        app = import_app_file(Path(app))
    registers, app_dir = _registers(app)
    for register in registers:
        # get_functions() remembers the names it validated and refuses them the second
        # time; every test environment indexes the app afresh, as a new worker would.
        if getattr(register, "functions_bindings", None):
            register.functions_bindings = {}
    functions = describe_functions(app_dir, registers)
    return LoadedApp(app_dir, functions)


def app_default_version(app: LoadedApp) -> str | None:
    """host.json ``defaultVersion`` of the app's folder, as the host reads it (None if unset)."""
    if not (app.app_dir / "host.json").is_file():
        return None
    try:
        return load_settings(app.app_dir, environ={}).default_version or None
    except HostError:
        return None  # the host would refuse it; a test environment need not


def import_app_file(path: Path) -> ModuleType:
    """Import ``function_app.py`` (or a folder holding it) as the worker would."""
    path = path.resolve()
    if path.is_dir():
        path = path / "function_app.py"
    if not path.is_file():
        raise HostError(f"no such app file: {path}")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise HostError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise HostError(f"importing {path.name} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _registers(app: Any) -> tuple[list[Any], Path]:
    from azure.functions import FunctionRegister

    from durable_functions.app import Blueprint, DFApp

    if isinstance(app, ModuleType):
        values = list(vars(app).values())
        registers = [v for v in values if isinstance(v, FunctionRegister)]
        if not registers:
            # A module of blueprints: index them as if registered on one app.
            blueprints = [v for v in values if isinstance(v, Blueprint)]
            registers = [_app_of(blueprints)] if blueprints else []
        if not registers:
            raise HostError(f"module {app.__name__!r} defines no DFApp or Blueprint")
        file = getattr(app, "__file__", None)
        return registers, Path(file).parent if file else Path.cwd()
    if isinstance(app, FunctionRegister):
        return [app], Path.cwd()
    if isinstance(app, Blueprint) and not isinstance(app, DFApp):
        return [_app_of([app])], Path.cwd()
    raise HostError(
        f"expected a DFApp, a Blueprint, a module or a path to function_app.py, got {app!r}"
    )


def _app_of(blueprints: list[Any]) -> Any:
    from durable_functions.app import DFApp

    app = DFApp(http_auth_level="ANONYMOUS")
    for blueprint in blueprints:
        app.register_functions(blueprint)
    return app
