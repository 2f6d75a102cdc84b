"""The Python examples of docs/testing.md run, and their assertions hold."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def load_examples() -> types.ModuleType:
    """Every ```python block of the page, in order, as one module."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    module = types.ModuleType("docs_testing_examples")
    exec(compile("\n\n".join(blocks), str(DOC), "exec"), module.__dict__)
    return module


EXAMPLES = load_examples()
TESTS = sorted(name for name in vars(EXAMPLES) if name.startswith("test_"))


def test_the_page_has_examples() -> None:
    assert len(TESTS) >= 8


@pytest.mark.parametrize("name", TESTS)
def test_documented_example_passes(name: str) -> None:
    getattr(EXAMPLES, name)()
