"""Properties over private attributes, one line each.

The public classes mirror the reference SDK, whose attributes are read-only properties
over underscored fields; spelling each as a decorated method repeated the same four
lines dozens of times.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, overload

__all__ = ["ReadOnly", "ReadWrite"]

_T = TypeVar("_T")


class ReadOnly(property, Generic[_T]):
    """A ``property`` returning ``self.<attr>``: ``x = ReadOnly[int]("_x", "The x.")``.

    ``attr`` may be dotted (``"_http.port"``): a value passed through from a held object.

    It is a real ``property`` (introspection, ``help()`` and setting it behave alike);
    the type argument is for type checkers.
    """

    def __init__(self, attr: str, doc: str) -> None:
        super().__init__(attrgetter(attr))
        self.__doc__ = doc  # property subclasses do not keep ``doc=`` (CPython 3.11)

    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: type | None = None, /) -> ReadOnly[_T]: ...

        @overload
        def __get__(self, instance: object, owner: type | None = None, /) -> _T: ...

        def __get__(self, instance: Any, owner: type | None = None, /) -> Any: ...

        # Read-only for type checkers too, as a decorated property is.
        def __set__(self, instance: Any, value: NoReturn, /) -> None: ...  # type: ignore[override]


class ReadWrite(ReadOnly[_T]):
    """A :class:`ReadOnly` that assignment sets too (``attr`` not dotted)."""

    def __init__(self, attr: str, doc: str) -> None:
        property.__init__(self, attrgetter(attr), lambda obj, value: setattr(obj, attr, value))
        self.__doc__ = doc

    if TYPE_CHECKING:

        def __set__(self, instance: Any, value: _T, /) -> None: ...
