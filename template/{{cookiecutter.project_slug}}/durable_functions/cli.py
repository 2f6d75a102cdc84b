"""The durable command line: one front door for every tool.

Each sub-command lives in the module that owns the concept and exposes two
functions, ``configure(parser)`` and ``run(args) -> int``. Modules are imported
only for the command that runs, so ``durable --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from durable_functions.errors import DurableError

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("durable_functions.scaffold", "create a Durable Functions app from the template"),
    "start": ("durable_functions.host.cli", "run the app in this folder on the local host"),
    "history": ("durable_functions.testing.history", "export an instance's history to a file"),
    "replay": ("durable_functions.testing.replayer", "replay recorded histories against the code"),
    "lint": ("durable_functions.testing.lint", "find non-deterministic code in orchestrators"),
}


def _build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="durable", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    # Only the chosen command's module is imported; the rest get a bare parser for --help.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            importlib.import_module(module).configure(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _build_parser(args_list).parse_args(args_list)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args))
    except DurableError as exc:
        print(f"durable {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
