"""Copy the SDK into the project template, so every generated app carries it.

The template renders every file through Jinja (Cookiecutter always does; Copier
does with an empty template suffix). A source file that contains Jinja markers
is therefore stored wrapped in ``{% raw %}`` ... ``{% endraw %}``, which renders
back to the exact original bytes. Everything else is copied as is.

Usage::

    python tools/vendor_sdk.py          # refresh the template's durable_functions/
    python tools/vendor_sdk.py --check  # exit 1 and list the stale files
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "sdk" / "durable_functions"
TARGET = ROOT / "template" / "{{cookiecutter.project_slug}}" / "durable_functions"
EXCLUDED_DIRS = frozenset({"__pycache__", "_template"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
JINJA_MARKERS = (b"{{", b"{%", b"{#")
RAW_START = b"{% raw %}"
RAW_END = b"{% endraw %}"


def sdk_files(source: Path = SOURCE) -> Iterator[Path]:
    """Paths (relative to ``source``) of the files that make up the vendored SDK."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if (
            path.is_file()
            and not EXCLUDED_DIRS.intersection(relative.parts)
            and not path.name.endswith(EXCLUDED_SUFFIXES)
        ):
            yield relative


def template_bytes(content: bytes) -> bytes:
    """The bytes to store in the template so that rendering gives back ``content``."""
    if not any(marker in content for marker in JINJA_MARKERS):
        return content
    if RAW_END in content:
        raise ValueError("a file containing '{% endraw %}' cannot be vendored into the template")
    return RAW_START + content + RAW_END


def plan(source: Path = SOURCE, target: Path = TARGET) -> tuple[dict[Path, bytes], list[Path]]:
    """Files to (re)write with their template bytes, and stale files to delete."""
    wanted = {rel: template_bytes((source / rel).read_bytes()) for rel in sdk_files(source)}
    writes = {
        rel: data
        for rel, data in wanted.items()
        if not (target / rel).is_file() or (target / rel).read_bytes() != data
    }
    existing = (
        {p.relative_to(target) for p in target.rglob("*") if p.is_file()}
        if target.is_dir()
        else set()
    )
    stale = sorted(rel for rel in existing - set(wanted) if "__pycache__" not in rel.parts)
    return writes, stale


def vendor(source: Path = SOURCE, target: Path = TARGET) -> list[Path]:
    """Bring ``target`` in line with ``source``; return the paths that changed."""
    writes, stale = plan(source, target)
    for rel, data in writes.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
        shutil.copymode(source / rel, target / rel)
    for rel in stale:
        (target / rel).unlink()
    for folder in sorted((p for p in target.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
    return sorted([*writes, *stale])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        writes, stale = plan()
        changed = sorted([*writes, *stale])
        for rel in changed:
            print(f"stale: {TARGET.relative_to(ROOT) / rel}", file=sys.stderr)
        if changed:
            print(
                "The vendored SDK is out of date: run `python tools/vendor_sdk.py`.",
                file=sys.stderr,
            )
        return 1 if changed else 0
    changed = vendor()
    print(f"vendored SDK: {len(changed)} file(s) updated in {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
