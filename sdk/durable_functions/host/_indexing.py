"""The checks Azure's Python worker makes when it indexes an app, made by our loader too.

Measured against Microsoft's worker runtime (``--worker azure-functions-runtime``), our
loader accepted apps the worker refuses at start-up, so they ran locally and not in Azure:
more than one top-level ``FunctionApp``; a parameter without a binding, or a binding
without a parameter; a binding parameter annotated with something that is not a class
nor a ``typing`` generic (``list[str]``, ``int | None``, ``Optional[int]`` on Python 3.11+).
The wording follows the worker's, so a search for the message finds the same answers.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from durable_functions.errors import HostError

_NOT_GENERIC = (typing.Union, tuple, typing.ClassVar, Callable)


def check_single_app(names: Iterable[str]) -> None:
    """The worker indexes one top-level function app object per script.

    Raises:
        HostError: more than one ``FunctionApp``/``DFApp`` (blueprints are registered on one).
    """
    found = list(names)
    if len(found) > 1:
        raise HostError(
            f"More than one {found[0]} or other top level function app instances are defined "
            f"({', '.join(found)}); register blueprints on one app instead."
        )


def check_signature(
    name: str, bindings: Sequence[Mapping[str, Any]], user: Callable[..., Any]
) -> None:
    """The function's parameters match its bindings, as the worker requires.

    Raises:
        HostError: a parameter has no binding, a binding has no parameter, or a binding
            parameter's annotation is neither a class nor a ``typing`` generic.
    """
    try:
        params = dict(inspect.signature(user).parameters)
        hints = typing.get_type_hints(user)
    except (TypeError, ValueError, NameError):
        return  # not introspectable: the worker would say more; nothing to check here
    bound = {str(b.get("name")) for b in bindings if b.get("name") != "$return"}
    if "context" in params and "context" not in bound:
        params.pop("context")  # the worker passes its func.Context there
    prefix = f"cannot load the {name} function: "
    unbound = set(params) - bound
    if unbound:
        raise HostError(
            prefix + "the following parameters are declared in Python but not in the function "
            f"definition (function.json or function decorators): {sorted(unbound)}"
        )
    missing = bound - set(params)
    if missing:
        raise HostError(
            prefix + "the following parameters are declared as bindings but are not present "
            f"in Python: {sorted(missing)}"
        )
    for param in params:
        if param in hints and not _is_class_or_generic(hints[param]):
            raise HostError(
                prefix + f"binding {param} has invalid non-type annotation {hints[param]!r} "
                "(Azure's Python worker accepts classes and typing generics, e.g. "
                "typing.List[str] or list, not list[str])"
            )


def _is_class_or_generic(annotation: Any) -> bool:
    """A class, or a ``typing`` generic alias (``typing.List[str]``, not ``list[str]``)."""
    if isinstance(annotation, type):
        return True
    if type(annotation).__module__ != "typing" or not hasattr(annotation, "__origin__"):
        return False
    return annotation.__origin__ not in _NOT_GENERIC
