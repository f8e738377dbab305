"""PVM_SMTP_URL, read in service/config.py: every part read, every mistake named, the password never echoed."""

from __future__ import annotations

import pytest

from service.config import ConfigError, Settings, SmtpUrl, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", SmtpUrl("smtp", "mail.example.org", 25)),
        ("smtp://mail.example.org:587?starttls=required", SmtpUrl("smtp", "mail.example.org", 587, "required")),
        ("smtps://mail.example.org", SmtpUrl("smtps", "mail.example.org", 465)),
        (
            "smtp://pvm%40city.example:p%40ss%3Aword@mail.example.org:587",
            SmtpUrl("smtp", "mail.example.org", 587, "auto", "pvm@city.example", "p@ss:word"),
        ),
    ],
)
def test_the_parts_are_read(url: str, expected: SmtpUrl) -> None:
    assert parse_smtp_url(url) == expected


def test_the_password_is_kept_out_of_repr_and_of_the_shown_address() -> None:
    url = parse_smtp_url("smtp://pvm:hunter2-secret@mail.example.org:587")
    assert url.password == "hunter2-secret"
    assert "hunter2" not in repr(url) and url.shown == "smtp://mail.example.org:587"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mail.example.org:25", "must look like smtp://host:port"),
        ("http://mail.example.org", "must look like smtp://host:port"),
        ("smtp://:25", "names no host"),
        ("smtp://mail.example.org:99999", "port"),
        ("smtp://mail.example.org?tls=yes", "unknown parameter 'tls'"),
        ("smtp://mail.example.org?starttls=maybe", "starttls='maybe'"),
        ("smtps://mail.example.org?starttls=required", "starttls does not apply"),
        ("smtp://:hunter2-secret@mail.example.org", "password without a user name"),
    ],
)
def test_a_bad_url_fails_at_start_naming_the_variable_never_the_password(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as failed:
        Settings.from_env({"PVM_SMTP_URL": url})
    message = str(failed.value)
    assert message.startswith("PVM_SMTP_URL ") and says in message and "hunter2" not in message
