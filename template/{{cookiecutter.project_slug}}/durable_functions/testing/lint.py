"""``durable lint``: find non-deterministic code in orchestrator functions.

An orchestrator is replayed from its history many times, so it must make the same
decisions every time. Reading the clock, drawing random numbers, reading the
environment or doing I/O breaks that, as does creating a durable task and never
yielding (or awaiting) it (it is never scheduled), yielding ``signal_entity`` (it
never completes), or, in an ``async def`` orchestrator, awaiting something that is
not a durable task (replay runs it outside any event loop). This module finds those
mistakes statically, with :mod:`ast`.

Orchestrators are the functions decorated with ``orchestration_trigger`` and the
functions passed to ``Orchestrator.create``; the plain functions they call in
the same module are checked too. Each finding reads ``file:line: CODE message``;
``# durable: ignore[CODE]`` at the end of a line silences that code there
(``# durable: ignore`` silences every code on the line).

Example::

    $ durable lint function_app.py
    function_app.py:12: DF001 datetime.now() is not replay-safe; use context.current_utc_datetime
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from durable_functions.errors import DurableError


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One kind of finding."""

    code: str
    """``DF001`` …"""
    title: str
    """What is wrong, in a few words."""
    fix: str
    """The deterministic alternative."""


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            code="DF001",
            title="reads the wall clock in an orchestrator",
            fix="use context.current_utc_datetime",
        ),
        Rule(
            code="DF002",
            title="reads a system timer in an orchestrator",
            fix="use context.current_utc_datetime (measure durations in an activity)",
        ),
        Rule(
            code="DF003",
            title="draws random values in an orchestrator",
            fix="use context.new_uuid(), or draw the value in an activity and pass it in",
        ),
        Rule(
            code="DF004",
            title="makes a random UUID in an orchestrator",
            fix="use context.new_uuid()",
        ),
        Rule(
            code="DF005",
            title="reads the environment in an orchestrator",
            fix="read settings in an activity or pass them in the orchestration input",
        ),
        Rule(
            code="DF006",
            title="does I/O in an orchestrator",
            fix="do I/O in an activity (context.call_activity) or use context.call_http",
        ),
        Rule(
            code="DF007",
            title="blocks the orchestrator",
            fix="yield (or await) context.create_timer(context.current_utc_datetime + "
            "timedelta(...))",
        ),
        Rule(
            code="DF008",
            title="mixes generator and async code in an orchestrator",
            fix="a def orchestrator yields durable tasks, an async def one awaits them",
        ),
        Rule(
            code="DF009",
            title="the task is never yielded, so it never runs",
            fix="yield (or await) it, or pass it to context.task_all/task_any",
        ),
        Rule(
            code="DF010",
            title="a yielded signal never completes, so the orchestrator waits forever",
            fix="call context.signal_entity(...) without yield (signals are fire-and-forget)",
        ),
        Rule(
            code="DF011",
            title="awaits something that is not a durable task in an orchestrator",
            fix="await only tasks from the context: context.task_all/task_any to combine, "
            "context.create_timer to wait, an activity or context.call_http for I/O",
        ),
    )
}

# Fully qualified call/attribute name -> rule code. A prefix ending in "." matches a whole module.
_CALLS: dict[str, str] = {
    "datetime.datetime.now": "DF001",
    "datetime.datetime.utcnow": "DF001",
    "datetime.datetime.today": "DF001",
    "datetime.date.today": "DF001",
    "time.time": "DF002",
    "time.time_ns": "DF002",
    "time.monotonic": "DF002",
    "time.monotonic_ns": "DF002",
    "time.perf_counter": "DF002",
    "time.perf_counter_ns": "DF002",
    "time.process_time": "DF002",
    "time.localtime": "DF002",
    "time.gmtime": "DF002",
    "time.ctime": "DF002",
    "random.": "DF003",
    "secrets.": "DF003",
    "os.urandom": "DF003",
    "uuid.uuid1": "DF004",
    "uuid.uuid4": "DF004",
    "os.getenv": "DF005",
    "os.getenvb": "DF005",
    "open": "DF006",
    "io.open": "DF006",
    "requests.": "DF006",
    "urllib.": "DF006",
    "urllib3.": "DF006",
    "httpx.": "DF006",
    "aiohttp.": "DF006",
    "socket.": "DF006",
    "http.client.": "DF006",
    "time.sleep": "DF007",
    "asyncio.sleep": "DF007",
}
# Libraries whose awaitables need an event loop: awaiting them in an orchestrator is DF011.
_ASYNC_LIBRARIES = (
    "asyncio.",
    "aiohttp.",
    "httpx.",
    "anyio.",
    "trio.",
    "aiofiles.",
    "asyncpg.",
    "aiosqlite.",
    "aioboto3.",
    "motor.",
    "websockets.",
    "redis.",
    "openai.",
    "azure.",
)
_DURABLE_MODULES = ("durable_functions.", "azure.durable_functions.", "azure.functions.")
# Builtins that need no import.
_BUILTINS = frozenset({"open"})
# Names that are non-deterministic when merely read (no call needed).
_ATTRIBUTES: dict[str, str] = {"os.environ": "DF005", "os.environb": "DF005"}

# Context methods that return a task which only runs once yielded.
_TASK_METHODS = frozenset(
    {
        "call_activity",
        "call_activity_with_retry",
        "call_sub_orchestrator",
        "call_sub_orchestrator_with_retry",
        "call_entity",
        "call_http",
        "create_timer",
        "wait_for_external_event",
        "task_all",
        "task_any",
    }
)

_IGNORE = re.compile(r"#\s*durable:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s]*)\])?")
_SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "__pycache__", "node_modules", ".python_packages", ".tox", "build"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One line of lint output."""

    path: str
    """The file, as given on the command line (or ``<string>``)."""
    line: int
    """1-based line number."""
    code: str
    """Rule code, e.g. ``DF001``."""
    message: str
    """What is wrong and what to use instead."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code} {self.message}"


def lint_source(source: str, path: str = "<string>") -> list[Finding]:
    """Lint one module's source text.

    Raises:
        DurableError: the source is not valid Python.
    """
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise DurableError(f"{path}:{exc.lineno or 0}: cannot parse: {exc.msg}") from exc
    findings = _ModuleLinter(tree, path).run()
    ignored = _ignored_codes(source)
    kept = [
        f
        for f in findings
        if not (f.line in ignored and (not ignored[f.line] or f.code in ignored[f.line]))
    ]
    return sorted(set(kept), key=lambda f: (f.line, f.code, f.message))


def lint_paths(paths: Iterable[str | Path]) -> list[Finding]:
    """Lint files and folders (``*.py`` found recursively, virtualenvs skipped)."""
    findings: list[Finding] = []
    for file in _python_files(paths):
        try:
            source = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DurableError(f"{file}: cannot read: {exc}") from exc
        findings.extend(lint_source(source, str(file)))
    return findings


def _python_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*.py")):
                parts = file.relative_to(path).parts[:-1]
                if not any(p in _SKIP_DIRS or p.startswith(".") for p in parts):
                    yield file
        elif path.is_file():
            yield path
        else:
            raise DurableError(f"{path}: no such file or folder")


def _ignored_codes(source: str) -> dict[int, frozenset[str]]:
    """Line -> silenced codes (empty set = every code) from ``# durable: ignore`` comments."""
    result: dict[int, frozenset[str]] = {}
    for number, text in enumerate(source.splitlines(), start=1):
        match = _IGNORE.search(text)
        if match:
            codes = match.group("codes")
            result[number] = frozenset(
                c.strip().upper() for c in (codes or "").split(",") if c.strip()
            )
    return result


_Function = ast.FunctionDef | ast.AsyncFunctionDef


class _ModuleLinter:
    """Finds the orchestrators of one module and checks them and their helpers."""

    def __init__(self, tree: ast.Module, path: str) -> None:
        self.tree = tree
        self.path = path
        self.imports = _import_map(tree)
        self.functions: dict[str, _Function] = {
            node.name: node for node in tree.body if isinstance(node, _Function)
        }
        self.findings: list[Finding] = []

    def run(self) -> list[Finding]:
        orchestrators = self._orchestrators()
        queue = [(fn, True) for fn in orchestrators]
        seen_ids = {id(fn) for fn in orchestrators}
        while queue:
            fn, is_orchestrator = queue.pop(0)
            self._check_function(fn, is_orchestrator=is_orchestrator)
            for name in self._called_helpers(fn):
                helper = self.functions[name]
                if id(helper) not in seen_ids:
                    seen_ids.add(id(helper))
                    queue.append((helper, False))
        return self.findings

    # -- discovery --------------------------------------------------------------------------

    def _orchestrators(self) -> list[_Function]:
        found: list[_Function] = []
        for node in ast.walk(self.tree):
            if isinstance(node, _Function) and any(
                _is_orchestration_trigger(d) for d in node.decorator_list
            ):
                found.append(node)
            elif isinstance(node, ast.Call) and _dotted(node.func).split(".")[-2:] == [
                "Orchestrator",
                "create",
            ]:
                for arg in node.args[:1]:
                    if isinstance(arg, ast.Name) and arg.id in self.functions:
                        found.append(self.functions[arg.id])
        unique: dict[int, _Function] = {}
        for fn in found:
            unique.setdefault(id(fn), fn)
        return list(unique.values())

    def _called_helpers(self, fn: _Function) -> list[str]:
        names: list[str] = []
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in self.functions
                and node.func.id not in self.imports
                and node.func.id != fn.name
            ):
                names.append(node.func.id)
        return names

    # -- checks -----------------------------------------------------------------------------

    def _report(self, node: ast.AST, code: str, what: str) -> None:
        rule = RULES[code]
        self.findings.append(
            Finding(
                path=self.path,
                line=getattr(node, "lineno", 0),
                code=code,
                message=f"{what}: {rule.title}; {rule.fix}",
            )
        )

    def _check_function(self, fn: _Function, *, is_orchestrator: bool) -> None:
        is_async = isinstance(fn, ast.AsyncFunctionDef)
        foreign = self._foreign_names(fn) if is_async else set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                self._check_call(node)
            elif isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
                self._check_attribute(node)
            elif is_async and isinstance(node, ast.Await):
                self._check_await(node, foreign)
            if is_async and is_orchestrator and isinstance(node, ast.Yield | ast.YieldFrom):
                self._report(node, "DF008", f"yield in async def {fn.name}")
            if not is_async and isinstance(node, ast.Await | ast.AsyncFor | ast.AsyncWith):
                keyword = {ast.Await: "await", ast.AsyncFor: "async for"}.get(
                    type(node), "async with"
                )
                self._report(node, "DF008", f"{keyword} in def {fn.name}")
        self._check_tasks(fn)

    def _foreign_names(self, fn: _Function) -> set[str]:
        """Names bound to an async library's objects (``client = httpx.AsyncClient()``)."""
        names: set[str] = set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and self._async_library_call(node.value):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    target = item.optional_vars
                    if isinstance(target, ast.Name) and self._async_library_call(item.context_expr):
                        names.add(target.id)
        return names

    def _async_library_call(self, node: ast.expr) -> str | None:
        """The qualified name of a call into an async library, e.g. ``asyncio.gather``."""
        if not isinstance(node, ast.Call):
            return None
        name = self._qualified(node.func)
        if name.startswith(_ASYNC_LIBRARIES) and not name.startswith(_DURABLE_MODULES):
            return name
        return None

    def _check_await(self, node: ast.Await, foreign: set[str]) -> None:
        """DF011: an awaited call into an async library, or on an object one returned."""
        value = node.value
        if not isinstance(value, ast.Call):
            return
        if self._async_library_call(value):
            if _match(self._qualified(value.func), _CALLS) is None:  # else reported already
                self._report(node, "DF011", f"await {_dotted(value.func)}()")
            return
        root = value.func
        while isinstance(root, ast.Attribute | ast.Call | ast.Subscript):
            root = root.func if isinstance(root, ast.Call) else root.value
        if isinstance(root, ast.Name) and root.id in foreign:
            self._report(node, "DF011", f"await {_dotted(value.func) or root.id + '…'}()")

    def _check_call(self, node: ast.Call) -> None:
        name = self._qualified(node.func)
        if not name or (name == "random.Random" and (node.args or node.keywords)):
            return  # a seeded generator is deterministic
        code = _match(name, _CALLS)
        if code is not None:
            self._report(node, code, f"{_dotted(node.func)}()")

    def _check_attribute(self, node: ast.Attribute | ast.Name) -> None:
        name = self._qualified(node)
        if name in _ATTRIBUTES:
            self._report(node, _ATTRIBUTES[name], _dotted(node))

    def _check_tasks(self, fn: _Function) -> None:
        """DF009 (task never yielded) and DF010 (signal yielded)."""
        loaded = {
            node.id
            for node in ast.walk(fn)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        signal_names: set[str] = set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Expr) and _task_method(node.value):
                method = _task_method(node.value)
                self._report(node, "DF009", f"{method}()")
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                method = _task_method(node.value)
                if _signal_call(node.value):
                    signal_names.update(t.id for t in targets if isinstance(t, ast.Name))
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if method and len(names) == len(targets) and not loaded.intersection(names):
                    self._report(node, "DF009", f"{method}()")
            elif isinstance(node, ast.Yield | ast.YieldFrom | ast.Await) and node.value is not None:
                value = node.value
                keyword = "await" if isinstance(node, ast.Await) else "yield"
                if _signal_call(value) or (
                    isinstance(value, ast.Name) and value.id in signal_names
                ):
                    self._report(node, "DF010", f"{keyword} signal_entity()")
                elif _task_method(value) in {"task_all", "task_any"}:
                    for arg in ast.walk(value):
                        if arg is not value and _signal_call(arg):
                            self._report(arg, "DF010", "signal_entity() in task_all/task_any")

    # -- names ------------------------------------------------------------------------------

    def _qualified(self, node: ast.expr) -> str:
        """``dt.datetime.now`` -> ``datetime.datetime.now`` through the module's imports."""
        dotted = _dotted(node)
        if not dotted:
            return ""
        head, _, rest = dotted.partition(".")
        if head in self.imports:
            base = self.imports[head]
            return f"{base}.{rest}" if rest else base
        if dotted in _BUILTINS and head not in self.functions:
            return "" if _assigned_locally(head, self.tree) else dotted
        return ""  # a local name (a variable, a parameter), not a module


def _match(name: str, table: dict[str, str]) -> str | None:
    if name in table:
        return table[name]
    for prefix, code in table.items():
        if prefix.endswith(".") and name.startswith(prefix):
            return code
    return None


def _dotted(node: ast.AST) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _import_map(tree: ast.Module) -> dict[str, str]:
    """Local name -> fully qualified name for every import in the module."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _assigned_locally(name: str, tree: ast.Module) -> bool:
    """True if a module-level statement binds ``name`` (so it is not a builtin)."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    return True
    return False


def _is_orchestration_trigger(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return _dotted(target).split(".")[-1] == "orchestration_trigger"


def _task_method(node: ast.expr) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _TASK_METHODS
    ):
        return node.func.attr
    return None


def _signal_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "signal_entity"
    )


# -- command line -------------------------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``durable lint``."""
    parser.add_argument("paths", nargs="+", help="Python files or folders to check")
    parser.add_argument(
        "--ignore",
        default="",
        metavar="CODES",
        help="comma-separated rule codes to skip everywhere, e.g. DF005,DF006",
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "rules:\n" + "\n".join(
        f"  {r.code}  {r.title}; {r.fix}" for r in RULES.values()
    )


def run(args: argparse.Namespace) -> int:
    """Print findings; exit 1 if there are any, 0 if the code is clean."""
    skipped = {c.strip().upper() for c in str(args.ignore).split(",") if c.strip()}
    findings = [f for f in lint_paths(args.paths) if f.code not in skipped]
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} finding(s)", file=sys.stderr)
        return 1
    print("No findings: the orchestrators look deterministic.", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``durable lint`` on its own (``python -m durable_functions.testing.lint``)."""
    from durable_functions.cli import main as cli_main

    return cli_main(["lint", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
