"""PVM_WORKER_LEASE: how long a worker's claim holds, bounded, and never shorter than a send can take."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from service import inbox
from service.config import ConfigError, Settings
from service.inbox import processing
from service.outbox.dispatch import dispatch_due
from service.runtime import runtime
from tests import deliveries
from tests.conftest import build_app, make_settings


def test_default_is_five_minutes_and_a_value_is_read(tmp_path: Path) -> None:
    assert Settings.from_env({"PVM_INSTANCE_DIR": str(tmp_path)}).worker_lease == 300.0
    assert Settings.from_env({"PVM_INSTANCE_DIR": str(tmp_path), "PVM_WORKER_LEASE": "90"}).worker_lease == 90.0


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"PVM_WORKER_LEASE": "5"}, "from 10 to 3600"),
        ({"PVM_WORKER_LEASE": "soon"}, "from 10 to 3600"),
        ({"PVM_WORKER_LEASE": "30"}, "three times PVM_TRACKER_TIMEOUT"),  # 20 s tracker timeout by default
    ],
)
def test_bad_leases_are_refused_naming_the_variable(environ: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match="PVM_WORKER_LEASE") as refused:
        Settings.from_env(environ)
    assert says in str(refused.value)


def test_the_worker_claims_with_the_configured_lease(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = build_app(make_settings(tmp_path, worker_lease=42.0))
    rt = runtime(app)
    response = deliveries.github(app.test_client(), "issues", deliveries.fixture("github", "issues__labeled"))
    assert response.status_code == 202
    leases: list[timedelta] = []
    real_claim = processing.claim

    def claim(*args: Any, **kwargs: Any) -> list[processing.Claim]:
        leases.append(kwargs["lease"])
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(processing, "claim", claim)
    assert inbox.process_due(rt) == 1
    assert leases == [timedelta(seconds=42.0)]
    dispatch_due(rt)
    assert rt.outbox_dispatcher is not None and rt.outbox_dispatcher.lease == timedelta(seconds=42.0)
    rt.engine.dispose()
