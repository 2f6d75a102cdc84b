"""``durable start``: run the function app in this folder on the local host.

Like ``func start``: reads ``host.json`` and ``local.settings.json``, indexes
``function_app.py`` (or the ``function.json`` folders of a v1 app), prints every
function with its URL and serves until Ctrl+C. State lives in
``.durable/taskhub.sqlite3`` (SQLite), so a restart resumes every orchestration
where it stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.metadata
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from durable_functions.errors import HostError

if TYPE_CHECKING:
    from durable_functions.host.functions import AppFunction, LoadedApp
    from durable_functions.host.routes import FunctionKeys
    from durable_functions.host.server import HostServer
    from durable_functions.host.settings import HostSettings

log = logging.getLogger("durable_functions.host")

DEFAULT_PORT = 7071
DEFAULT_DB = Path(".durable") / "taskhub.sqlite3"
BUILTIN_WORKER = "builtin"


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``durable start``."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 7071)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--db", type=Path, default=None, help="SQLite file (default .durable/taskhub.sqlite3)"
    )
    parser.add_argument("--hub", default=None, help="task hub name (default: from host.json)")
    parser.add_argument(
        "--app-dir", type=Path, default=None, help="app folder (default: current directory)"
    )
    parser.add_argument(
        "--require-keys",
        action="store_true",
        help="enforce function keys on non-anonymous HTTP functions and the management API "
        "(.durable/keys.json)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also accept this Host name for the management API and dashboard (repeatable)",
    )
    parser.add_argument(
        "--worker",
        choices=(BUILTIN_WORKER, "azure-functions-runtime"),
        default=BUILTIN_WORKER,
        help="how the app is indexed and invoked: this package's loader (default) or "
        "Microsoft's Python worker runtime, as Azure runs it (Python 3.13+)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def _banner(
    server: HostServer,
    app: LoadedApp,
    settings: HostSettings,
    db: Path,
    keys: FunctionKeys | None,
) -> str:
    lines = [
        "",
        f"Durable Functions local host: task hub '{server.store.hub}', store {db}",
        "",
        "Functions:",
        "",
    ]
    for fn in app.http_functions():
        methods = ",".join(fn.methods) if fn.methods else "ALL"
        auth = "" if fn.auth_level == "anonymous" or keys is None else f" ({fn.auth_level} key)"
        lines.append(f"        {fn.name}: [{methods}] {server.function_url(fn)}{auth}")
        lines += _notes(fn)
    others = [fn for fn in app.functions if fn.kind != "http"]
    if others:
        lines.append("")
    for fn in others:
        shown = fn.name if fn.durable_name == fn.name else f"{fn.name} ({fn.durable_name})"
        note = "" if fn.kind != "other" else "  (not run by the local host)"
        lines.append(f"        {shown}: {fn.trigger_type}{note}")
        lines += _notes(fn)
    lines += [
        "",
        f"Durable management API: {server.base_url}/runtime/webhooks/durabletask/ "
        f"(also {server.base_url}/durabletask/)",
        f"Dashboard: {server.base_url}/dashboard/",
    ]
    if server.exposed:
        lines.append(f"From other machines: {server.public_url}/ (here: {server.base_url}/)")
    if keys is not None:
        lines.append(
            f"Function keys: {settings.app_dir / '.durable' / 'keys.json'} (the management API "
            "needs its systemKeys.durabletask_extension or the masterKey)"
        )
    for note in settings.notes:
        lines.append(f"Note: {note}")
    if server.exposed:
        lines += ["", *_exposed_warning(server, keys)]
    lines += ["", "Host started. Press Ctrl+C to stop.", ""]
    return "\n".join(lines)


def _notes(fn: AppFunction) -> list[str]:
    """Banner lines for a v1 function that did not load or has bindings not run locally."""
    error = getattr(fn.func, "load_error", None)
    if error is not None:
        return [f"            not loaded: {error}"]
    skipped = [b for b in fn.bindings if b.type != "http"]
    return [
        f"            {b.direction} binding {b.name!r} ({b.type}): not run by the local host"
        + (" (values written to it are logged)" if b.is_output else " (receives None)")
        for b in skipped
    ]


def _exposed_warning(server: HostServer, keys: FunctionKeys | None) -> list[str]:
    """The loud note for a host other machines can reach: it is a development server."""
    rule = "!" * 78
    guard = (
        "Function keys are required (--require-keys), for the management API too."
        if keys is not None
        else "Anyone who can reach it can call every function and the management API\n"
        "(start, terminate, purge): add --require-keys, or bind to 127.0.0.1."
    )
    return [
        rule,
        f"WARNING: this development host listens on {server.public_url} and every other",
        "address of this machine: it is reachable from the network, over plain HTTP.",
        *guard.splitlines(),
        rule,
    ]


async def _serve(args: argparse.Namespace, app_dir: Path) -> int:
    from durable_functions.host.dispatcher import Dispatcher
    from durable_functions.host.engine import EngineConfig
    from durable_functions.host.functions_v1 import load_any_app
    from durable_functions.host.http import Limits
    from durable_functions.host.routes import FunctionKeys
    from durable_functions.host.server import HostServer
    from durable_functions.host.settings import load_settings
    from durable_functions.host.store import SqliteStore

    settings = load_settings(app_dir)
    limits = Limits.parse(os.environ.get("DURABLE_HTTP_LIMITS", ""))
    hub = args.hub or settings.hub_name
    db = args.db if args.db is not None else app_dir / DEFAULT_DB  # absolute: see run()
    app = load_any_app(app_dir) if args.worker == BUILTIN_WORKER else _worker_app(app_dir)
    if args.worker != BUILTIN_WORKER:
        version = importlib.metadata.version("azure-functions-runtime")
        note = (
            f"functions run in Microsoft's Python worker runtime (azure-functions-runtime "
            f"{version}); orchestrators replay their whole history every episode"
        )
        settings = dataclasses.replace(settings, notes=(*settings.notes, note))
    store = SqliteStore(db, hub, recover=True)
    keys = (
        FunctionKeys.load_or_create(app_dir / ".durable" / "keys.json")
        if args.require_keys
        else None
    )
    dispatcher = Dispatcher(
        app,
        store,
        max_orchestrations=settings.max_concurrent_orchestrations,
        max_activities=settings.max_concurrent_activities,
        sessions=settings.sessions,
        config=EngineConfig(default_version=settings.default_version or None),
    )
    server = HostServer(
        app,
        store,
        settings,
        wake=dispatcher.wake,
        keys=keys,
        allowed_hosts=tuple(args.allow_host),
        limits=limits,
    )
    # Waiting management requests answer the moment their instance finishes.
    dispatcher.on_finished = server.instance_finished
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
            loop.add_signal_handler(sig, stop.set)
    await server.start(args.host, args.port)
    dispatcher.start()
    print(_banner(server, app, settings, db, keys), flush=True)
    try:
        await stop.wait()
    finally:
        log.info("stopping the host")
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl+C stops at once
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await server.close()
        await loop.run_in_executor(None, dispatcher.stop)
        store.close()
    return 0


def _worker_app(app_dir: Path) -> LoadedApp:
    """The app indexed by Microsoft's worker runtime (``--worker azure-functions-runtime``)."""
    from durable_functions.host.worker_runtime import load_worker_app

    return load_worker_app(app_dir)


def run(args: argparse.Namespace) -> int:
    """Start the host and serve until interrupted."""
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] %(levelname)s %(message)s", stream=sys.stderr
    )
    if args.verbose:  # our details only, not every library's debug output
        logging.getLogger("durable_functions").setLevel(logging.DEBUG)
    if args.worker != BUILTIN_WORKER:  # before any work: a one-line refusal
        from durable_functions.host.worker_runtime import check_available

        check_available()
    app_dir = (args.app_dir or Path.cwd()).resolve()
    if not app_dir.is_dir():
        raise HostError(f"app folder {app_dir} does not exist")
    if args.db is not None and not args.db.is_absolute():
        args.db = (Path.cwd() / args.db).resolve()
    # Like Core Tools and the worker: run from the app folder, with it as the script root.
    os.chdir(app_dir)
    os.environ.setdefault("AzureWebJobsScriptRoot", str(app_dir))
    os.environ.setdefault("FUNCTIONS_WORKER_RUNTIME", "python")
    try:
        return asyncio.run(_serve(args, app_dir))
    except KeyboardInterrupt:
        return 130
