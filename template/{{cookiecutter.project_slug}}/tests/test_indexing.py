"""The Functions host indexes what ``app.get_functions()`` reports: check it without a host."""

import functools

import azure.functions as func
import pytest

from function_app import app


@functools.cache
def functions() -> list:
    """The app's functions as the host indexes them."""
    # azure-functions refuses to index one app twice, and the durable_env fixture may have
    # indexed it already in this test session: start from a clean slate.
    app.functions_bindings = {}
    return app.get_functions()


def bindings() -> dict[str, dict[str, dict]]:
    """Function name -> binding type -> binding as the host receives it."""
    return {
        function.get_function_name(): {
            binding["type"]: binding for binding in function.get_dict_repr()["bindings"]
        }
        for function in functions()
    }


@pytest.mark.parametrize(
    ("function_name", "trigger"),
    [
        pytest.param("hello_chain", "orchestrationTrigger", id="hello_chain"),
        pytest.param("fan_out_fan_in", "orchestrationTrigger", id="fan_out_fan_in"),
        pytest.param("greet_and_sum", "orchestrationTrigger", id="greet_and_sum"),
        pytest.param("approval_workflow", "orchestrationTrigger", id="approval_workflow"),
        pytest.param("job_monitor", "orchestrationTrigger", id="job_monitor"),
        pytest.param("say_hello", "activityTrigger", id="say_hello"),
        pytest.param("square", "activityTrigger", id="square"),
        pytest.param("check_job", "activityTrigger", id="check_job"),
{%- if cookiecutter.include_entity %}
        pytest.param("counter_workflow", "orchestrationTrigger", id="counter_workflow"),
        pytest.param("counter", "entityTrigger", id="counter"),
{%- endif %}
    ],
)
def test_function_is_indexed_with_its_trigger(function_name: str, trigger: str) -> None:
    assert trigger in bindings()[function_name]


@pytest.mark.parametrize(
    "function_name",
    [
        "start_orchestration",
{%- if cookiecutter.include_entity %}
        "read_counter",
        "add_to_counter",
{%- endif %}
    ],
)
def test_http_function_has_a_durable_client_and_the_chosen_auth_level(function_name: str) -> None:
    function_bindings = bindings()[function_name]
    assert {"httpTrigger", "http", "durableClient"} <= set(function_bindings)
    assert function_bindings["httpTrigger"]["authLevel"] == func.AuthLevel.{{ cookiecutter.http_auth_level.upper() }}


def test_function_names_are_unique() -> None:
    names = [function.get_function_name() for function in functions()]
    assert len(names) == len(set(names))
