"""Value types sent inside actions."""

from __future__ import annotations

import pytest

from durable_functions.options import (
    DurableHttpRequest,
    ManagedIdentityTokenSource,
    RetryOptions,
    TokenSource,
)


def test_retry_options_serialize_with_host_field_names():
    assert RetryOptions(1000, 3).to_json() == {
        "firstRetryIntervalInMilliseconds": 1000,
        "maxNumberOfAttempts": 3,
    }


def test_retry_options_expose_their_values_as_properties():
    options = RetryOptions(first_retry_interval_in_milliseconds=5, max_number_of_attempts=2)
    assert (options.first_retry_interval_in_milliseconds, options.max_number_of_attempts) == (5, 2)


@pytest.mark.parametrize("interval", [0, -1])
def test_retry_options_reject_a_non_positive_first_interval(interval):
    with pytest.raises(ValueError, match="greater than 0"):
        RetryOptions(interval, 3)


def test_retry_options_compare_by_value():
    assert RetryOptions(1, 2) == RetryOptions(1, 2)
    assert RetryOptions(1, 2) != RetryOptions(1, 3)


def test_managed_identity_token_source_serializes_resource_and_kind():
    source = ManagedIdentityTokenSource("https://vault.azure.net")
    assert source.to_json() == {
        "resource": "https://vault.azure.net",
        "kind": "AzureManagedIdentity",
    }
    assert source.resource == "https://vault.azure.net"
    assert isinstance(source, TokenSource)


def test_http_request_serializes_nulls_for_missing_content_and_headers():
    assert DurableHttpRequest("GET", "https://x.test").to_json() == {
        "method": "GET",
        "uri": "https://x.test",
        "content": None,
        "headers": None,
    }


def test_http_request_includes_its_token_source():
    request = DurableHttpRequest(
        "GET", "https://x.test", token_source=ManagedIdentityTokenSource("r")
    )
    assert request.to_json()["tokenSource"] == {"resource": "r", "kind": "AzureManagedIdentity"}
    assert request.token_source == ManagedIdentityTokenSource("r")
