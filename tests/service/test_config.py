import base64
import sys
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
        ({"PVM_ENV": "production", "PVM_SECRET_KEY": "k", "PVM_GITHUB_WEBHOOK_SECRET": "x"}, "PVM_TRACKERS"),
        (
            {
                "PVM_ENV": "production",
                "PVM_SECRET_KEY": "k",
                "PVM_TRACKERS": "github,jira",
                "PVM_JIRA_WEBHOOK_SECRET": "y",
            },
            "PVM_GITHUB_WEBHOOK_SECRET",
        ),
        (
            {
                "PVM_ENV": "production",
                "PVM_SECRET_KEY": "k",
                "PVM_TRACKERS": "github,jira",
                "PVM_GITHUB_WEBHOOK_SECRET": "x",
            },
            "PVM_JIRA_WEBHOOK_SECRET",
        ),
        ({"PVM_ENV": "production", "PVM_SECRET_KEY": "k", "PVM_TRACKERS": "gitlab"}, "PVM_GITLAB_WEBHOOK_SECRET"),
        ({"PVM_TRACKERS": "github,bitbucket"}, "PVM_TRACKERS"),
        ({"PVM_TRACKERS": " , "}, "PVM_TRACKERS"),
        (
            {
                "PVM_ENV": "production",
                "PVM_TRACKERS": "github,jira",
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
            "PVM_TRACKERS": "github,jira",
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


def test_a_team_on_one_tracker_needs_only_that_trackers_secret_in_production() -> None:
    settings = Settings.from_env(
        {
            "PVM_ENV": "production",
            "PVM_TRACKERS": "jira",
            "PVM_SECRET_KEY": "k",
            "PVM_JIRA_WEBHOOK_SECRET": "y",
            "PVM_LOG_SIGNING_KEY": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=",
        }
    )
    assert settings.trackers == ("jira",)


def test_the_missing_secret_error_says_how_to_switch_the_tracker_off() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            {
                "PVM_ENV": "production",
                "PVM_SECRET_KEY": "k",
                "PVM_TRACKERS": "github,gitlab",
                "PVM_GITHUB_WEBHOOK_SECRET": "x",
            }
        )
    assert "PVM_GITLAB_WEBHOOK_SECRET" in str(raised.value) and "PVM_TRACKERS=github" in str(raised.value)


def test_every_tracker_is_switched_on_outside_production() -> None:
    assert Settings.from_env({}).trackers == ("github", "jira", "gitlab")
    assert Settings.from_env({"PVM_TRACKERS": " GitLab , github,gitlab"}).trackers == ("gitlab", "github")


def test_the_instance_folder_is_one_per_user_data_folder_wherever_a_command_runs(tmp_path: Path, monkeypatch) -> None:
    data_home = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"XDG_DATA_HOME": str(data_home)})
    if sys.platform != "win32":
        assert settings.instance_dir == (data_home / "pvm").resolve()
    assert settings.instance_dir != (tmp_path / "instance").resolve()
    assert settings.database_url == f"sqlite:///{settings.instance_dir / 'pvm.sqlite3'}"
    assert Settings.from_env({"PVM_INSTANCE_DIR": str(tmp_path / "here")}).instance_dir == tmp_path / "here"
    assert not data_home.exists()  # settings alone create nothing
