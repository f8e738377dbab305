"""`/api/v1/outbox`: every outbound action visible with its status and the body it sends; operators retry."""

from __future__ import annotations

from service.outbox import enqueue
from service.runtime import runtime
from service.storage.models import OutboxItem, ValueLogEntry
from tests.conftest import auth, token_for


def _seed(app) -> tuple[int, int]:
    with runtime(app).transaction() as session:
        comment = enqueue(
            session,
            tracker="github",
            action="comment",
            target="github:acme/portal#34",
            body={"text": "Did you mean `value:transparency`?"},
            cause="delivery:3",
        )
        label = enqueue(
            session, tracker="jira", action="add_label", target="jira:PROJ-12", body={"label": "value:efficiency"}
        )
        label.status, label.attempts, label.error = (
            "dead",
            1,
            "jira: credentials refused (HTTP 401); check PVM_JIRA_EMAIL",
        )
        return comment.id, label.id


def test_list_shows_body_as_sent_with_marker_and_filters(app, admin_headers) -> None:
    comment_id, label_id = _seed(app)
    client = app.test_client()
    response = client.get("/api/v1/outbox", headers=admin_headers)
    assert response.status_code == 200
    items = response.json["items"]
    assert [i["id"] for i in items] == [comment_id, label_id] and response.json["next"] is None
    first = items[0]
    assert first["tracker"] == "github" and first["action"] == "comment" and first["status"] == "pending"
    assert first["target"] == "github:acme/portal#34" and first["attempts"] == 0 and first["error"] is None
    assert first["body"]["text"].startswith("Did you mean `value:transparency`?\n\n<!-- pvm-outbox:")
    assert items[1]["body"] == {"label": "value:efficiency"}
    dead = client.get("/api/v1/outbox?status=dead", headers=admin_headers).json["items"]
    assert [i["id"] for i in dead] == [label_id] and "PVM_JIRA_EMAIL" in dead[0]["error"]
    assert [i["id"] for i in client.get("/api/v1/outbox?tracker=github", headers=admin_headers).json["items"]] == [
        comment_id
    ]
    bad = client.get("/api/v1/outbox?status=lost", headers=admin_headers)
    assert bad.status_code == 400 and "pending" in bad.json["error"]


def test_one_item_and_not_found(app) -> None:
    comment_id, _ = _seed(app)
    headers = auth(token_for(app, "auditor"))
    client = app.test_client()
    assert client.get(f"/api/v1/outbox/{comment_id}", headers=headers).json["id"] == comment_id
    missing = client.get("/api/v1/outbox/999", headers=headers)
    assert missing.status_code == 404 and "GET /api/v1/outbox" in missing.json["error"]


def test_operator_retry_revives_a_dead_item_and_logs_it(app, admin_headers) -> None:
    comment_id, label_id = _seed(app)
    client = app.test_client()
    response = client.post(f"/api/v1/outbox/{label_id}/retry", headers=admin_headers)
    assert response.status_code == 200
    assert response.json["status"] == "pending" and response.json["attempts"] == 0
    conflict = client.post(f"/api/v1/outbox/{comment_id}/retry", headers=admin_headers)
    assert conflict.status_code == 409 and "only dead, failed, skipped" in conflict.json["error"]
    with runtime(app).transaction() as session:
        entry = session.query(ValueLogEntry).filter_by(kind="outbox.retried").one()
        assert entry.subject == f"outbox:{label_id}" and entry.actor.startswith("token:")
        assert session.get(OutboxItem, label_id).status == "pending"
