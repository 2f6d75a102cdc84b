"""The durable command line: one front door for every tool.

Each sub-command lives in the module that owns the concept and exposes two
functions, ``configure(parser)`` and ``run(args) -> int`` (or, when one module
serves several commands, ``configure_<command>`` and ``run_<command>``).
Modules are imported only for the command that runs, so ``durable --help``
stays instant. Every error a user can cause is one line per problem
(``durable <command>: error: ...``) with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NoReturn

from durable_functions.errors import DurableError

# Core Tools' `func durable` commands, against a running host (host/cli_instances.py).
_INSTANCE_COMMANDS = (
    ("get-instances", "list orchestration instances on a running host"),
    ("get-runtime-status", "show an instance's status"),
    ("get-history", "show an instance's history"),
    ("start-new", "start an orchestration"),
    ("raise-event", "send an event to an instance"),
    ("terminate", "terminate an instance"),
    ("suspend", "suspend an instance"),
    ("resume", "resume a suspended instance"),
    ("rewind", "rewind a failed instance"),
    ("purge-history", "delete instances and their histories"),
    ("delete-task-hub", "delete every instance and entity of the task hub"),
)

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("durable_functions.scaffold", "create a Durable Functions app from the template"),
    "update": (
        "durable_functions.scaffold",
        "merge a newer template into an app made by `durable new` or Cookiecutter",
    ),
    "start": ("durable_functions.host.cli", "run the app in this folder on the local host"),
    "history": ("durable_functions.testing.history", "export an instance's history to a file"),
    "replay": ("durable_functions.testing.replayer", "replay recorded histories against the code"),
    "lint": ("durable_functions.testing.lint", "find non-deterministic code in orchestrators"),
    **{name: ("durable_functions.host.cli_instances", text) for name, text in _INSTANCE_COMMANDS},
}


class _Parser(argparse.ArgumentParser):
    """Usage mistakes in one line (argparse prints the whole usage first), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(prog="durable", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    # Only the chosen command's module is imported; the rest get a bare parser for --help.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            _entry(importlib.import_module(module), "configure", name)(command_parser)
    return parser


def _entry(module: ModuleType, kind: str, command: str) -> Any:
    """``<kind>_<command>`` when the module has it (one module, several commands), else ``kind``."""
    name = f"{kind}_{command.replace('-', '_')}"
    return getattr(module, name, None) or getattr(module, kind)


def _error(command: str, message: object) -> int:
    for line in str(message).splitlines() or [""]:
        print(f"durable {command}: error: {line}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _build_parser(args_list).parse_args(args_list)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(_entry(module, "run", args.command)(args))
    except DurableError as exc:
        return _error(args.command, exc)
    except OSError as exc:
        # A path the user named cannot be read or written: say which, in one line.
        where = f": {exc.filename}" if exc.filename else ""
        return _error(args.command, f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
