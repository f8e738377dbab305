from pathlib import Path

from service.app import create_app
from tests.conftest import make_settings


def test_healthz_ok_at_head(any_app) -> None:
    response = any_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_healthz_503_before_migrations(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "pvm db upgrade" in response.json["error"]


def test_healthz_503_when_database_unreachable(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, "postgresql://nobody@127.0.0.1:9/none"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
