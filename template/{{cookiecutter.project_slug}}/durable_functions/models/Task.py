"""Reference SDK import path: ``durable_functions.tasks``'s task classes."""

from __future__ import annotations

from durable_functions.tasks import *  # noqa: F403 - this path re-exports exactly those names
from durable_functions.tasks import __all__ as __all__
