"""PVM_TRUSTED_PROXIES and the rate-limit variables: defaults, accepted forms, and one line naming a bad value."""

from __future__ import annotations

import pytest

from service.config import ConfigError, Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.trusted_proxies == 0
    assert settings.signin_rate_limit == "10 per minute; 100 per day"
    assert settings.token_failure_rate_limit == "20 per minute; 300 per day"
    assert settings.checkin_form_rate_limit == "30 per minute"


def test_values_are_taken_as_given() -> None:
    settings = Settings.from_env(
        {
            "PVM_TRUSTED_PROXIES": "2",
            "PVM_SIGNIN_RATE_LIMIT": "5/minute",
            "PVM_TOKEN_FAILURE_RATE_LIMIT": "50 per hour; 200 per day",
            "PVM_CHECKIN_FORM_RATE_LIMIT": "100 per minute",
        }
    )
    assert settings.trusted_proxies == 2
    assert settings.signin_rate_limit == "5/minute"
    assert settings.token_failure_rate_limit == "50 per hour; 200 per day"
    assert settings.checkin_form_rate_limit == "100 per minute"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PVM_TRUSTED_PROXIES", "-1"),
        ("PVM_TRUSTED_PROXIES", "one"),
        ("PVM_TRUSTED_PROXIES", "11"),
        ("PVM_SIGNIN_RATE_LIMIT", "ten per minute"),
        ("PVM_SIGNIN_RATE_LIMIT", "0 per minute"),
        ("PVM_TOKEN_FAILURE_RATE_LIMIT", "20 per fortnight"),
        ("PVM_CHECKIN_FORM_RATE_LIMIT", "30"),
    ],
)
def test_a_bad_value_names_the_variable_and_an_example(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({name: value})
    message = str(raised.value)
    assert message.startswith(name) and repr(value) in message and "\n" not in message
