"""The bindings of a ``function.json`` function that are neither its trigger nor the client.

A v1 function names every binding as a parameter: an output binding gets an ``Out``
object (``message.set(value)``), as the Python worker passes one. The local host sends
the value of a named ``http`` output as the HTTP response; the value written to any
other output (a queue, a blob, ``twilioSms``, …) is logged, since nothing here would
deliver it. Input bindings the host does not implement receive ``None``.

``azure.functions`` is imported lazily, like in ``functions.py``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("durable_functions.host")


@dataclass(frozen=True, slots=True)
class Binding:
    """One binding of ``function.json`` passed as a parameter."""

    name: str
    type: str
    direction: str
    """``in`` or ``out`` (``inout`` counts as ``out``)."""

    @property
    def is_output(self) -> bool:
        """Whether the parameter receives an ``Out`` object."""
        return self.direction in ("out", "inout")


@functools.cache
def _out_class() -> type[Any]:
    import azure.functions as func

    class Out(func.Out[Any]):
        """The value holder the worker passes to an output binding's parameter."""

        def __init__(self) -> None:
            self._value: Any = None

        def set(self, val: Any) -> None:
            self._value = val

        def get(self) -> Any:
            return self._value

    return Out


def binding_arguments(bindings: tuple[Binding, ...]) -> dict[str, Any]:
    """The arguments for ``bindings``: an ``Out`` per output, ``None`` per other input."""
    out = _out_class()
    return {b.name: out() if b.is_output else None for b in bindings}


def log_outputs(function: str, bindings: tuple[Binding, ...], arguments: dict[str, Any]) -> None:
    """Log what the function wrote to outputs the local host does not deliver."""
    for binding in bindings:
        holder = arguments.get(binding.name)
        if not binding.is_output or binding.type == "http" or holder is None:
            continue
        value = holder.get()
        if value is not None:
            log.info(
                "%s: output binding %r (%s) is not run by the local host; value: %r",
                function,
                binding.name,
                binding.type,
                value,
            )
