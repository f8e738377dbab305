"""Our own replies come back as webhooks; no integration turns them into events, so the service never answers itself."""

import copy
import json

import pytest

from integrations import registry
from integrations.base import Identity
from service.domain.events import Ignored
from tests.conftest import FIXTURES

MARKED = "Did you mean `value:transparency`?\n\n<!-- pvm-outbox:12:20261128141106123456 -->"
JIRA_MARKED = "Did you mean value:transparency?\n\n{color:#97a0af}pvm-outbox:12:20261128141106123456{color}"


def _load(tracker: str, name: str) -> dict:
    return json.loads((FIXTURES / tracker / f"{name}.json").read_text())


@pytest.mark.parametrize(
    ("tracker", "fixture", "identity", "path", "text"),
    [
        ("github", "issue_comment__created", Identity("issue_comment", "d1", "created"), ("comment", "body"), MARKED),
        ("jira", "comment_created__value_answer", Identity("comment_created", "d2"), ("comment", "body"), JIRA_MARKED),
        ("gitlab", "note__issue_comment", Identity("Note Hook", "d3"), ("object_attributes", "note"), MARKED),
    ],
)
def test_marked_comment_is_ignored_and_a_person_s_is_not(tracker, fixture, identity, path, text) -> None:
    integration = registry.get(tracker)
    person = _load(tracker, fixture)
    events = integration.normalise(identity, person)
    assert not isinstance(events, Ignored) and [e.kind for e in events] == ["comment.created"]
    ours = copy.deepcopy(person)
    ours[path[0]][path[1]] = text
    result = integration.normalise(identity, ours)
    assert isinstance(result, Ignored) and "posted itself" in result.reason
