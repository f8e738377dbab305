import base64
from pathlib import Path

import pytest

from service.config import ConfigError, Settings


def test_defaults_need_no_configuration(tmp_path: Path) -> None:
    settings = Settings.from_env({"PVM_INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    assert settings.env == "development"
    assert settings.outbound == "send"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/pvm"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"PVM_ENV": "staging"}, "PVM_ENV"),
        ({"PVM_OUTBOUND": "maybe"}, "PVM_OUTBOUND"),
        ({"PVM_SMTP_URL": "mail.example.org:25"}, "PVM_SMTP_URL"),
        ({"PVM_BASE_URL": "pvm.example.org"}, "PVM_BASE_URL"),
        ({"PVM_RULES_DIR": "/nonexistent/rules"}, "PVM_RULES_DIR"),
        ({"PVM_JIRA_STORY_POINTS_FIELD": "Story Points"}, "PVM_JIRA_STORY_POINTS_FIELD"),
        ({"PVM_REPORT_ISSUES": "PRM-7"}, "PVM_REPORT_ISSUES"),
        ({"PVM_REPORT_ISSUES": "jira:PRM-7, jira:PRM-8"}, "PVM_REPORT_ISSUES"),
        ({"PVM_ENV": "production", "PVM_GITHUB_WEBHOOK_SECRET": "x", "PVM_JIRA_WEBHOOK_SECRET": "y"}, "PVM_SECRET_KEY"),
        ({"PVM_ENV": "production", "PVM_SECRET_KEY": "k", "PVM_JIRA_WEBHOOK_SECRET": "y"}, "PVM_GITHUB_WEBHOOK_SECRET"),
        ({"PVM_ENV": "production", "PVM_SECRET_KEY": "k", "PVM_GITHUB_WEBHOOK_SECRET": "x"}, "PVM_JIRA_WEBHOOK_SECRET"),
        (
            {
                "PVM_ENV": "production",
                "PVM_SECRET_KEY": "k",
                "PVM_GITHUB_WEBHOOK_SECRET": "x",
                "PVM_JIRA_WEBHOOK_SECRET": "y",
            },
            "PVM_LOG_SIGNING_KEY",
        ),
        ({"PVM_LOG_SIGNING_KEY": "c2hvcnQ="}, "PVM_LOG_SIGNING_KEY"),
        ({"PVM_LOG_SIGNING_KEY": "not base64 at all!"}, "PVM_LOG_SIGNING_KEY"),
        ({"PVM_LOG_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "PVM_LOG_SIGNING"),
        ({"PVM_LOG_ORIGIN": "values city"}, "PVM_LOG_ORIGIN"),
        ({"PVM_CHECKPOINT_ISSUE": "city/audit#1"}, "PVM_CHECKPOINT_ISSUE"),
        ({"PVM_CHECKPOINT_WEBHOOK_URL": "ftp://x.example/"}, "PVM_CHECKPOINT_WEBHOOK_URL"),
        ({"PVM_CHECKPOINT_FILE": "/nonexistent/folder/head.note"}, "PVM_CHECKPOINT_FILE"),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(environ)
    assert named in str(raised.value)
    assert "\n" not in str(raised.value)


def test_production_with_every_secret_starts() -> None:
    settings = Settings.from_env(
        {
            "PVM_ENV": "production",
            "PVM_SECRET_KEY": "k",
            "PVM_GITHUB_WEBHOOK_SECRET": "x",
            "PVM_JIRA_WEBHOOK_SECRET": "y",
            "PVM_LOG_SIGNING_KEY": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=",
        }
    )
    assert settings.is_production


def test_password_in_database_url_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"DATABASE_URL": "oracle://scott:tiger@db/orcl"})
    assert "tiger" not in str(raised.value)


def test_report_issues_one_per_tracker() -> None:
    settings = Settings.from_env({"PVM_REPORT_ISSUES": "github:city-council/permits#1, jira:PERM-7"})
    assert settings.report_issues == ("github:city-council/permits#1", "jira:PERM-7")
    assert Settings.from_env({}).jira_story_points_field == "customfield_10016"


def test_signing_key_is_read_as_pem_or_base64_and_never_echoed(tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from service.config import parse_signing_key

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    for given in (pem, pem.replace("\n", "\\n"), base64.b64encode(raw).decode()):
        settings = Settings.from_env({"PVM_LOG_SIGNING_KEY": given, "PVM_BASE_URL": "https://values.city.example"})
        assert parse_signing_key(settings.log_signing_key or "").private_bytes_raw() == raw
        assert settings.log_origin == "values.city.example/value-log"
        assert given not in repr(settings)
    wrong = base64.b64encode(raw[:31]).decode()
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"PVM_LOG_SIGNING_KEY": wrong})
    assert wrong not in str(raised.value) and "32 bytes" in str(raised.value)
