"""df_dumps / df_loads: the wire codec, custom-object envelopes and typed decoding."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_functions.errors import DurableError, SerializationError
from durable_functions.serialization import (
    STRICT_TYPING_ENV_VAR,
    decode_as,
    df_dumps,
    df_loads,
)


class Point:
    """A custom object with the reference's to_json/from_json protocol."""

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    @staticmethod
    def to_json(obj: Point) -> dict[str, int]:
        return {"x": obj.x, "y": obj.y}

    @classmethod
    def from_json(cls, data: dict[str, int]) -> Point:
        return cls(data["x"], data["y"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


class Shape:
    """A custom object whose to_json is an instance method holding nested custom objects."""

    def __init__(self, corners: list[Point]) -> None:
        self.corners = corners

    def to_json(self) -> dict[str, Any]:
        return {"corners": self.corners}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shape:
        return cls(data["corners"])


class WriteOnly:
    def to_json(self) -> int:
        return 1


@dataclass
class Address:
    city: str
    zip_code: Optional[str] = None  # noqa: UP045 - the typing spelling is part of the test


@dataclass
class Customer:
    name: str
    address: Address
    previous: list[Address] = field(default_factory=list)
    tags: dict[str, Address] = field(default_factory=dict)
    nickname: str | None = None


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_TYPING_ENV_VAR, "true")


def envelope(obj: type, data: Any) -> dict[str, Any]:
    return {"__class__": obj.__name__, "__module__": obj.__module__, "__data__": data}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="null"),
        pytest.param(True, id="bool"),
        pytest.param(42, id="int"),
        pytest.param(1.5, id="float"),
        pytest.param("Tokyo", id="str"),
        pytest.param([1, "a", None], id="list"),
        pytest.param({"k": {"nested": [1, 2]}}, id="dict"),
    ],
)
def test_plain_json_values_round_trip(value: Any) -> None:
    assert df_loads(df_dumps(value)) == value


def test_plain_values_are_encoded_as_plain_json() -> None:
    assert json.loads(df_dumps({"a": [1, 2]})) == {"a": [1, 2]}


def test_custom_object_is_wrapped_in_an_envelope_naming_class_and_module() -> None:
    assert json.loads(df_dumps(Point(1, 2))) == envelope(Point, {"x": 1, "y": 2})


def test_to_json_may_be_an_instance_method() -> None:
    assert json.loads(df_dumps(Shape([])))["__data__"] == {"corners": []}


def test_custom_object_round_trips_through_its_from_json() -> None:
    assert df_loads(df_dumps(Point(3, 4))) == Point(3, 4)


def test_nested_custom_objects_are_wrapped_and_rebuilt_in_loose_mode() -> None:
    shape = df_loads(df_dumps(Shape([Point(0, 0), Point(1, 1)])))
    assert shape.corners == [Point(0, 0), Point(1, 1)]


def test_custom_objects_inside_containers_are_rebuilt() -> None:
    assert df_loads(df_dumps({"p": [Point(1, 2)]})) == {"p": [Point(1, 2)]}


def test_object_without_to_json_is_a_serialization_error_and_a_type_error() -> None:
    with pytest.raises(SerializationError) as caught:
        df_dumps(object())
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, DurableError)


def test_datetime_is_not_silently_encoded() -> None:
    from datetime import datetime

    with pytest.raises(TypeError, match="datetime"):
        df_dumps(datetime(2024, 1, 1))


def test_envelope_of_a_module_not_loaded_is_a_value_error() -> None:
    text = json.dumps({"__class__": "X", "__module__": "no_such_module_abc", "__data__": 1})
    with pytest.raises(ValueError, match="no_such_module_abc"):
        df_loads(text)


def test_envelope_of_a_missing_class_is_an_attribute_error() -> None:
    text = json.dumps({"__class__": "Nope", "__module__": __name__, "__data__": 1})
    with pytest.raises(AttributeError, match="Nope"):
        df_loads(text)


def test_envelope_of_a_class_without_from_json_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="from_json"):
        df_loads(df_dumps(WriteOnly()))


def test_invalid_json_text_is_a_serialization_error() -> None:
    with pytest.raises(SerializationError, match="invalid JSON"):
        df_loads("{not json")


def test_expected_type_rebuilds_an_envelope_whose_module_is_not_loaded() -> None:
    """The caller names the type, so the module need not be in sys.modules."""
    text = json.dumps(
        {"__class__": "Point", "__module__": Point.__module__, "__data__": {"x": 1, "y": 2}}
    )
    saved = sys.modules.pop(Point.__module__)
    try:
        assert df_loads(text, expected_type=Point) == Point(1, 2)
    finally:
        sys.modules[Point.__module__] = saved


def test_loose_mode_logs_a_mismatch_between_envelope_and_expected_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="durable_functions.serialization"):
        value = df_loads(df_dumps(Point(1, 2)), expected_type=Shape)
    assert value == Point(1, 2)
    assert "expected" in caplog.text and "Shape" in caplog.text


def test_loose_mode_returns_a_mismatching_plain_value_unchanged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="durable_functions.serialization"):
        assert df_loads('"text"', expected_type=int) == "text"
    assert "Cannot decode value as builtins.int" in caplog.text


def test_int_decodes_as_float_when_float_is_expected() -> None:
    value = df_loads("3", expected_type=float)
    assert value == 3.0 and isinstance(value, float)


def test_no_warning_is_emitted_when_decoding_without_expected_type() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert df_loads(df_dumps(Point(1, 1))) == Point(1, 1)


# --- strict mode -----------------------------------------------------------


@pytest.mark.usefixtures("strict")
def test_strict_mode_wraps_a_top_level_custom_object() -> None:
    assert json.loads(df_dumps(Point(1, 2))) == envelope(Point, {"x": 1, "y": 2})


@pytest.mark.usefixtures("strict")
def test_strict_mode_refuses_nested_custom_objects() -> None:
    with pytest.raises(TypeError):
        df_dumps([Point(1, 2)])


@pytest.mark.usefixtures("strict")
def test_strict_mode_refuses_a_top_level_envelope_without_expected_type() -> None:
    text = json.dumps(envelope(Point, {"x": 1, "y": 2}))
    with pytest.raises(TypeError, match="expected_type"):
        df_loads(text)


@pytest.mark.usefixtures("strict")
def test_strict_mode_rebuilds_an_envelope_through_expected_type() -> None:
    text = json.dumps(envelope(Point, {"x": 1, "y": 2}))
    assert df_loads(text, expected_type=Point) == Point(1, 2)


@pytest.mark.usefixtures("strict")
def test_strict_mode_refuses_an_envelope_of_another_class() -> None:
    text = json.dumps(envelope(Point, {"x": 1, "y": 2}))
    with pytest.raises(TypeError, match="expected"):
        df_loads(text, expected_type=Shape)


@pytest.mark.usefixtures("strict")
def test_strict_mode_refuses_a_plain_value_of_the_wrong_type() -> None:
    with pytest.raises(TypeError):
        df_loads('"text"', expected_type=int)


@pytest.mark.usefixtures("strict")
def test_strict_mode_still_encodes_dataclasses_as_plain_objects() -> None:
    assert json.loads(df_dumps(Address(city="Oslo"))) == {"city": "Oslo", "zip_code": None}


# --- dataclasses and pydantic ----------------------------------------------


def test_dataclass_is_encoded_as_a_plain_json_object() -> None:
    customer = Customer(name="Ada", address=Address(city="London"))
    assert json.loads(df_dumps(customer)) == {
        "name": "Ada",
        "address": {"city": "London", "zip_code": None},
        "previous": [],
        "tags": {},
        "nickname": None,
    }


def test_dataclass_is_rebuilt_from_a_dict_with_nested_fields() -> None:
    text = json.dumps(
        {
            "name": "Ada",
            "address": {"city": "London"},
            "previous": [{"city": "Paris", "zip_code": "75001"}],
            "tags": {"home": {"city": "Bath"}},
        }
    )
    assert df_loads(text, expected_type=Customer) == Customer(
        name="Ada",
        address=Address(city="London"),
        previous=[Address(city="Paris", zip_code="75001")],
        tags={"home": Address(city="Bath")},
    )


def test_dataclass_decoding_ignores_unknown_keys() -> None:
    assert decode_as({"city": "Rome", "planet": "Earth"}, Address) == Address(city="Rome")


@pytest.mark.parametrize(
    ("tp", "value", "expected"),
    [
        pytest.param(Optional[Address], None, None, id="optional-none"),  # noqa: UP045
        pytest.param(Address | None, {"city": "Rome"}, Address(city="Rome"), id="union-none"),
        pytest.param(list[Address], [{"city": "A"}], [Address(city="A")], id="list"),
        pytest.param(dict[str, Address], {"k": {"city": "B"}}, {"k": Address(city="B")}, id="dict"),
        pytest.param(tuple[int, Address], [1, {"city": "C"}], (1, Address(city="C")), id="tuple"),
    ],
)
def test_decode_as_follows_typing_forms(tp: Any, value: Any, expected: Any) -> None:
    assert decode_as(value, tp) == expected


def test_decode_as_raises_on_mismatch_when_strict() -> None:
    with pytest.raises(SerializationError, match="Address"):
        decode_as("not an object", Address, strict=True)


def test_decode_as_reports_a_missing_dataclass_field_when_strict() -> None:
    with pytest.raises(SerializationError, match="city"):
        decode_as({}, Address, strict=True)


def test_pydantic_model_round_trips_as_a_plain_object() -> None:
    import pydantic

    class Order(pydantic.BaseModel):
        item: str
        quantity: int

    text = df_dumps(Order(item="tea", quantity=2))
    assert json.loads(text) == {"item": "tea", "quantity": 2}
    assert df_loads(text, expected_type=Order) == Order(item="tea", quantity=2)


def test_pydantic_validation_failure_is_a_serialization_error_when_strict() -> None:
    import pydantic

    class Order(pydantic.BaseModel):
        quantity: int

    with pytest.raises(SerializationError, match="Order"):
        decode_as({"quantity": "many"}, Order, strict=True)


def test_typed_decoding_does_not_import_pydantic() -> None:
    code = (
        "import sys, dataclasses\n"
        "from durable_functions.serialization import df_loads, df_dumps\n"
        "@dataclasses.dataclass\n"
        "class A:\n"
        "    x: int\n"
        "assert df_loads(df_dumps(A(1)), expected_type=A) == A(1)\n"
        "assert 'pydantic' not in sys.modules, 'pydantic was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_sdk_env())


def _sdk_env() -> dict[str, str]:
    import os
    from pathlib import Path

    import durable_functions

    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(durable_functions.__file__).parent.parent)
    return env


# --- the reference codec as an oracle --------------------------------------


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"a": [1, 2.5, None, True]}, id="plain"),
        pytest.param(Point(1, 2), id="custom"),
        pytest.param([Shape([Point(0, 1)]), "x"], id="nested-custom"),
    ],
)
def test_encoding_matches_the_reference(value: Any) -> None:
    from azure.durable_functions.models.utils import df_serialization as reference

    assert df_dumps(value) == reference.df_dumps(value)


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_reference_decodes_what_we_encode() -> None:
    from azure.durable_functions.models.utils import df_serialization as reference

    shape = reference.df_loads(df_dumps(Shape([Point(5, 6)])))
    assert shape.corners == [Point(5, 6)]


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_we_decode_what_the_reference_encodes() -> None:
    from azure.durable_functions.models.utils import df_serialization as reference

    assert df_loads(reference.df_dumps({"p": Point(7, 8)})) == {"p": Point(7, 8)}


def test_enum_is_decoded_from_its_value() -> None:
    import enum

    class Colour(enum.Enum):
        RED = "red"

    assert decode_as("red", Colour) is Colour.RED


def test_envelope_keys_spelled_with_unicode_escapes_are_still_recognised() -> None:
    text = df_dumps(Point(1, 2)).replace("__class__", "\\u005f_class__")
    assert df_loads(text) == Point(1, 2)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_round_trips(value: Any) -> None:
    assert df_loads(df_dumps(value)) == value


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@given(json_values)
def test_any_json_value_encodes_exactly_as_the_reference(value: Any) -> None:
    from azure.durable_functions.models.utils import df_serialization as reference

    assert df_dumps(value) == reference.df_dumps(value)
