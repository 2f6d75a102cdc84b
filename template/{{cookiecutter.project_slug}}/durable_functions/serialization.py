"""JSON on the wire: ``df_dumps`` / ``df_loads`` and typed decoding.

The wire format is the one of ``azure-functions-durable`` 1.7 (itself delegating to
``azure.functions``): plain JSON, plus a custom-object envelope for objects that
expose ``to_json``/``from_json``::

    {"__class__": "Point", "__module__": "app.models", "__data__": {...}}

On top of that, values can be decoded into a Python type without changing the
wire: dataclasses and pydantic models travel as plain JSON objects and are rebuilt
from an annotation or an explicit ``expected_type`` (see :func:`decode_as`).

Strict mode (environment variable ``AZURE_FUNCTIONS_DURABLE_STRICT_TYPING`` set to
``1``, ``true`` or ``yes``) follows the reference: only a top-level custom object is
wrapped, and a top-level envelope is only decoded when ``expected_type`` names it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import sys
import types
import typing
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Mapping,
    MutableMapping,
    MutableSequence,
    Sequence,
)
from typing import Any, TypeVar, Union, cast

from durable_functions.errors import SerializationError

__all__ = [
    "STRICT_TYPING_ENV_VAR",
    "ClassNotFoundError",
    "InvalidJSONError",
    "ModuleNotLoadedError",
    "decode_as",
    "df_dumps",
    "df_loads",
    "encode_default",
    "is_strict_mode",
]

logger = logging.getLogger("durable_functions.serialization")

STRICT_TYPING_ENV_VAR = "AZURE_FUNCTIONS_DURABLE_STRICT_TYPING"
_TRUTHY = frozenset({"1", "true", "yes"})
_ENVELOPE_KEYS = ("__class__", "__module__", "__data__")

T = TypeVar("T")


class InvalidJSONError(SerializationError, ValueError):
    """The text handed to :func:`df_loads` is not JSON."""


class ModuleNotLoadedError(SerializationError, ValueError):
    """An envelope names a module that is not imported (the reference raises ``ValueError``)."""


class ClassNotFoundError(SerializationError, AttributeError):
    """An envelope names a class its module lacks (``AttributeError`` in the reference)."""


def is_strict_mode() -> bool:
    """Whether strict typing is on; read on every call so tests and apps can toggle it."""
    return os.environ.get(STRICT_TYPING_ENV_VAR, "").strip().lower() in _TRUTHY


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------


def _pydantic_base() -> type | None:
    """``pydantic.BaseModel`` if pydantic is already imported; never imports it."""
    module = sys.modules.get("pydantic")
    base = getattr(module, "BaseModel", None) if module is not None else None
    return base if isinstance(base, type) else None


def _is_pydantic_model_type(tp: object) -> bool:
    base = _pydantic_base()
    return base is not None and isinstance(tp, type) and issubclass(tp, base)


def _envelope(obj: object) -> dict[str, Any]:
    # ``to_json`` is called on the class with the instance so that it may be a
    # staticmethod or a plain method; the reference does the same.
    return {
        "__class__": type(obj).__name__,
        "__module__": type(obj).__module__,
        "__data__": type(obj).to_json(obj),  # type: ignore[attr-defined]
    }


def encode_default(obj: object) -> Any:
    """The ``default=`` hook of :func:`df_dumps` (loose mode), for callers building JSON.

    Objects with ``to_json`` become an envelope. Dataclass instances and pydantic
    models (which the reference cannot send at all) become plain JSON objects.
    """
    if hasattr(obj, "to_json"):
        return _envelope(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if _is_pydantic_model_type(type(obj)):
        return obj.model_dump(mode="json")  # type: ignore[attr-defined]
    raise SerializationError(
        f"Object of type {type(obj).__qualname__} is not JSON serializable: give the class "
        "`to_json`/`from_json` methods, make it a dataclass, or convert it to plain "
        "JSON values (dict, list, str, int, float, bool, None) first."
    )


def df_dumps(value: Any) -> str:
    """Serialize ``value`` to JSON text the way the Durable Functions wire expects.

    Raises:
        SerializationError: (a ``TypeError``) if a value cannot be encoded.
    """
    try:
        if is_strict_mode():
            if hasattr(value, "to_json"):
                return json.dumps(_envelope(value))
            return json.dumps(value, default=_encode_plain_only)
        return json.dumps(value, default=encode_default)
    except SerializationError:
        raise
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"Cannot serialize value to JSON: {exc}") from exc


def _encode_plain_only(obj: object) -> Any:
    """Strict mode: nested ``to_json`` objects are not wrapped, but dataclasses still encode."""
    if hasattr(obj, "to_json"):
        raise SerializationError(
            f"Object of type {type(obj).__qualname__} is not JSON serializable in strict "
            "typing mode: only a top-level custom object is wrapped, and its `to_json` must "
            "return plain JSON values."
        )
    return encode_default(obj)


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


def _is_envelope(value: object) -> bool:
    return isinstance(value, dict) and all(key in value for key in _ENVELOPE_KEYS)


def _resolve_class(module_name: str, class_name: str) -> Any:
    module = sys.modules.get(module_name)
    if module is None:
        raise ModuleNotLoadedError(
            f"Cannot deserialize custom object: module {module_name!r} is not loaded; "
            "import it before the value is decoded."
        )
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ClassNotFoundError(
            f"Cannot deserialize custom object: class {class_name!r} not found in module "
            f"{module_name!r}."
        )
    return cls


def _rebuild(cls: Any, data: Any) -> Any:
    from_json = getattr(cls, "from_json", None)
    if not callable(from_json):
        raise SerializationError(
            f"Cannot deserialize custom object: class {getattr(cls, '__qualname__', cls)!r} "
            "does not expose a `from_json` function."
        )
    return from_json(data)


def _make_hook(expected_type: Any) -> Callable[[dict[str, Any]], Any]:
    def hook(obj: dict[str, Any]) -> Any:
        if not _is_envelope(obj):
            return obj
        class_name, module_name = obj["__class__"], obj["__module__"]
        if _names(expected_type) == (module_name, class_name):
            # The caller told us the type: no need for its module in sys.modules.
            return _rebuild(expected_type, obj["__data__"])
        return _rebuild(_resolve_class(module_name, class_name), obj["__data__"])

    return hook


def _names(tp: Any) -> tuple[str, str] | None:
    if isinstance(tp, type):
        return tp.__module__, tp.__name__
    return None


def _type_label(tp: Any) -> str:
    if isinstance(tp, type):
        return f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp)


def _may_hold_envelope(s: str | bytes) -> bool:
    """Whether the text can contain an envelope key (``\\u`` escapes could spell one)."""
    if type(s) is not str:
        return True
    return "__class__" in s or "\\u" in s


def df_loads(s: str | bytes, expected_type: Any = None) -> Any:
    """Deserialize JSON text produced by :func:`df_dumps` (or any JSON).

    Args:
        s: the JSON text.
        expected_type: optional type to decode into; a class with ``from_json``, a
            dataclass, a pydantic model, or a typing form such as ``list[Point]`` or
            ``Point | None``. In loose mode a value that does not fit is returned as
            decoded (with a logged warning); in strict mode it raises ``TypeError``.

    Raises:
        SerializationError: the text is not JSON, or a value cannot be rebuilt.
    """
    try:
        if expected_type is None and not _may_hold_envelope(s):
            # No envelope anywhere: one parse, no Python-level object hook.
            return json.loads(s)
        raw = json.loads(s)
    except (TypeError, ValueError) as exc:
        raise InvalidJSONError(f"Cannot deserialize value: invalid JSON ({exc})") from exc
    strict = is_strict_mode()
    if strict:
        return _loads_strict(raw, expected_type)
    if expected_type is not None and not _may_hold_envelope(s):
        return decode_as(raw, expected_type, strict=False)
    if _is_envelope(raw) and expected_type is not None:
        names = _names(expected_type)
        if names != (raw["__module__"], raw["__class__"]):
            logger.warning(
                "df_loads: payload declares class %s.%s but expected %s",
                raw["__module__"],
                raw["__class__"],
                _type_label(expected_type),
            )
    value = json.loads(s, object_hook=_make_hook(expected_type))
    if expected_type is None:
        return value
    return decode_as(value, expected_type)


def _loads_strict(raw: Any, expected_type: Any) -> Any:
    if _is_envelope(raw):
        if expected_type is None:
            raise SerializationError(
                "df_loads: strict typing requires expected_type to deserialize custom-object "
                f"payloads, but none was provided. Payload declares "
                f"{raw['__module__']}.{raw['__class__']}."
            )
        if _names(expected_type) != (raw["__module__"], raw["__class__"]):
            raise SerializationError(
                f"df_loads: payload declares class {raw['__module__']}.{raw['__class__']} "
                f"but expected {_type_label(expected_type)}"
            )
        return _rebuild(expected_type, raw["__data__"])
    if expected_type is None:
        return raw
    return decode_as(raw, expected_type, strict=True)


class _Mismatch(Exception):
    """Internal: a value does not fit a type (turned into a warning or an error)."""


def decode_as(value: Any, tp: Any, *, strict: bool | None = None) -> Any:
    """Convert an already-parsed JSON value into ``tp``.

    Dicts become dataclasses (recursively, through their field annotations) or
    pydantic models; ``Optional``/unions, ``list``/``tuple``/``set`` and ``dict``
    of such types are followed. Values that are already of the right type, and
    types this function does not know how to build, are returned unchanged.

    Args:
        value: a value as produced by ``json.loads``/:func:`df_loads`.
        tp: the target type or typing form (``None``/``Any`` mean "no conversion").
        strict: raise on a mismatch instead of logging a warning and returning
            ``value`` unchanged; defaults to the strict typing environment switch.

    Raises:
        SerializationError: the value does not fit ``tp`` (strict mode), or a
            dataclass/pydantic model cannot be built from it.
    """
    if strict is None:
        strict = is_strict_mode()
    try:
        return _convert(value, tp)
    except _Mismatch as exc:
        message = f"Cannot decode value as {_type_label(tp)}: {exc}"
        if strict:
            raise SerializationError(message) from None
        logger.warning("df_loads: %s", message)
        return value


def _convert(value: Any, tp: Any) -> Any:
    if tp is None or tp is Any or tp is object or isinstance(tp, (str, TypeVar)):
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch(f"expected null, got {type(value).__name__}")
    origin = typing.get_origin(tp)
    if origin is not None:
        return _convert_generic(value, tp, origin)
    if not isinstance(tp, type):
        return value
    if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(value, tp)
    if _is_pydantic_model_type(tp):
        return _build_pydantic(value, tp)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise _Mismatch(f"{value!r} is not a value of {tp.__qualname__}") from None
    if _is_envelope(value):
        # A custom object whose module was not loaded stays a dict in loose mode.
        return value
    raise _Mismatch(f"expected {tp.__qualname__}, got {type(value).__name__}")


def _convert_generic(value: Any, tp: Any, origin: Any) -> Any:
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg)
            except _Mismatch:
                continue
        raise _Mismatch(f"{type(value).__name__} matches none of {args}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise _Mismatch(f"{value!r} is not one of {args}")
    if origin is typing.Annotated:
        return _convert(value, args[0])
    if origin in (list, set, frozenset, tuple) or origin in _ABSTRACT_SEQUENCES:
        if not isinstance(value, list):
            raise _Mismatch(f"expected a JSON array, got {type(value).__name__}")
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                raise _Mismatch(f"expected {len(args)} items, got {len(value)}")
            return tuple(_convert(item, arg) for item, arg in zip(value, args))
        item_type = args[0] if args else Any
        items = [_convert(item, item_type) for item in value]
        if origin in (set, frozenset, tuple):
            return cast(Callable[[list[Any]], Any], origin)(items)
        return items
    if origin is dict or origin in _ABSTRACT_MAPPINGS:
        if not isinstance(value, dict):
            raise _Mismatch(f"expected a JSON object, got {type(value).__name__}")
        value_type = args[1] if len(args) == 2 else Any
        return {key: _convert(item, value_type) for key, item in value.items()}
    if isinstance(origin, type) and not isinstance(value, origin):
        if dataclasses.is_dataclass(origin) or _is_pydantic_model_type(origin):
            return _convert(value, origin)
        raise _Mismatch(f"expected {origin.__qualname__}, got {type(value).__name__}")
    return value


# ``typing.get_origin`` reports the ``collections.abc`` class for both spellings.
_ABSTRACT_SEQUENCES: frozenset[Any] = frozenset({Sequence, MutableSequence, Iterable, Collection})
_ABSTRACT_MAPPINGS: frozenset[Any] = frozenset({Mapping, MutableMapping})


def _field_types(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: decode those fields as is
        return {f.name: Any for f in dataclasses.fields(cls)}


def _build_dataclass(value: Any, cls: type) -> Any:
    if not isinstance(value, dict):
        raise _Mismatch(
            f"expected a JSON object for {cls.__qualname__}, got {type(value).__name__}"
        )
    hints = _field_types(cls)
    init_kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name not in value:
            continue
        init_kwargs[f.name] = _convert(value[f.name], hints.get(f.name, Any))
    try:
        return cls(**init_kwargs)
    except TypeError as exc:
        raise _Mismatch(f"cannot build {cls.__qualname__}: {exc}") from None


def _build_pydantic(value: Any, cls: type) -> Any:
    validate = getattr(cls, "model_validate", None) or getattr(cls, "parse_obj", None)
    if validate is None:
        return value
    try:
        return validate(value)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise _Mismatch(f"cannot build {cls.__qualname__}: {exc}") from None
