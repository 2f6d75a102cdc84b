"""Remove the folders that only held optional files the answers left out.

Optional files (infra, CI workflow, entity sample) are chosen by their file
names, which render empty when not wanted; Cookiecutter then still creates
their folders. Copier skips them through ``_exclude`` in ``copier.yml``, so
this keeps both tools' output identical. Standard library only.
"""

from __future__ import annotations

import os


def remove_empty_dirs(root: str) -> None:
    """Delete every empty folder under ``root``, deepest first."""
    for current, _dirs, _files in sorted(os.walk(root), key=lambda item: -len(item[0])):
        if current != root and not os.listdir(current):
            os.rmdir(current)


if __name__ == "__main__":
    remove_empty_dirs(os.getcwd())
