"""`pvm labels sync`: the taxonomy's labels created or updated on GitHub, idempotently."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import responses
from requests import PreparedRequest

from integrations.github.client import make_client
from service.cli.labels import label_specs, sync_labels
from service.domain.taxonomy import load
from tests.conftest import make_settings
from tests.helpers import run_cli

REPO_API = "https://api.github.com:443/repos/acme/portal"


class FakeLabels:
    """GitHub's label endpoints for one repository."""

    def __init__(self, existing: dict[str, dict[str, Any]] | None = None) -> None:
        self.labels = existing or {}
        self.writes: list[str] = []

    def install(self, mock: responses.RequestsMock) -> None:
        one = re.compile(re.escape(f"{REPO_API}/labels/") + r"[^/?]+$")
        mock.add_callback(responses.GET, one, callback=self._get)
        mock.add_callback(responses.PATCH, one, callback=self._patch)
        mock.add_callback(responses.POST, f"{REPO_API}/labels", callback=self._post)

    def _json(self, name: str) -> str:
        label = self.labels[name]
        return json.dumps(
            {
                "id": 1,
                "node_id": "LA_1",
                "url": f"https://api.github.com/repos/acme/portal/labels/{name}",
                "name": name,
                "color": label["color"],
                "default": False,
                "description": label["description"],
            }
        )

    def _get(self, request: PreparedRequest) -> Any:
        name = unquote(str(request.url).rsplit("/", 1)[1])
        if name not in self.labels:
            return 404, {}, json.dumps({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        return 200, {}, self._json(name)

    def _post(self, request: PreparedRequest) -> Any:
        body = json.loads(request.body or b"{}")
        self.labels[body["name"]] = {"color": body["color"], "description": body.get("description")}
        self.writes.append(f"create {body['name']}")
        return 201, {}, self._json(body["name"])

    def _patch(self, request: PreparedRequest) -> Any:
        body = json.loads(request.body or b"{}")
        current = unquote(str(request.url).rsplit("/", 1)[1])
        name = body.get("new_name", current)  # GitHub's PATCH renames through `new_name`
        self.labels.pop(current)
        self.labels[name] = {"color": body["color"], "description": body.get("description")}
        self.writes.append(f"update {name}")
        return 200, {}, self._json(name)


def test_label_specs_fit_githubs_limits() -> None:
    specs = label_specs(load())
    taxonomy = load()
    assert len(specs) == 2 * len(taxonomy.dimensions)
    names = {s.name for s in specs}
    assert {"value:transparency", "value-risk:privacy-security"} <= names
    assert all(len(s.name) <= 50 and len(s.description) <= 100 for s in specs)
    transparency = next(s for s in specs if s.name == "value:transparency")
    assert transparency.colour == taxonomy.dimensions["transparency"].colour.lower()
    assert transparency.description == taxonomy.dimensions["transparency"].meaning


def test_sync_creates_updates_and_is_idempotent(tmp_path: Path) -> None:
    specs = label_specs(load())
    first = specs[0]
    fake = FakeLabels({first.name: {"color": "000000", "description": "old words"}})
    client = make_client(make_settings(tmp_path, github_token="ghp_x"))
    assert not isinstance(client, str)
    pauses: list[float] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        outcomes = [o for _, o in sync_labels(client, "acme/portal", specs, pause=pauses.append)]
        assert outcomes[0] == "updated" and outcomes[1:] == ["created"] * (len(specs) - 1)
        assert pauses == [1.0] * len(specs)  # writes a second apart
        again = [o for _, o in sync_labels(client, "acme/portal", specs, pause=pauses.append)]
    assert again == ["unchanged"] * len(specs)
    assert len(fake.writes) == len(specs)
    assert fake.labels[first.name] == {"color": first.colour, "description": first.description}


def test_cli_reports_progress_and_totals(tmp_path: Path) -> None:
    specs = label_specs(load())
    fake = FakeLabels({s.name: {"color": s.colour, "description": s.description} for s in specs})
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        result = run_cli(
            ["labels", "sync", "--tracker", "github", "--repo", "acme/portal"], url, tmp_path, PVM_GITHUB_TOKEN="ghp_x"
        )
    assert result.exit_code == 0, result.output
    assert f"0 created, 0 updated, {len(specs)} unchanged" in result.stdout
    assert f"[1/{len(specs)}] {specs[0].name}: unchanged" in result.stderr


def test_cli_names_the_missing_setting_and_jira_needs_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    result = run_cli(["labels", "sync", "--tracker", "github", "--repo", "acme/portal"], url, tmp_path)
    assert result.exit_code == 2 and "PVM_GITHUB_TOKEN" in result.stderr
    result = run_cli(["labels", "sync", "--tracker", "jira"], url, tmp_path)
    assert result.exit_code == 0 and "Jira needs no label creation" in result.stderr


GITLAB = "https://gitlab.example.gov"
GITLAB_PROJECT = f"{GITLAB}/api/v4/projects/digital-services%2Fbenefits-portal"


class FakeGitlabLabels:
    """GitLab's project label endpoints (python-gitlab edits with `PUT /labels`, the name in the body)."""

    def __init__(self, existing: dict[str, dict[str, Any]]) -> None:
        self.labels = existing
        self.writes: list[str] = []
        self.tokens: set[str] = set()

    def install(self, mock: responses.RequestsMock) -> None:
        one = re.compile(re.escape(f"{GITLAB_PROJECT}/labels/") + r"[^/?]+$")
        mock.add_callback(responses.GET, one, callback=self._get, content_type="application/json")
        mock.add_callback(
            responses.POST, f"{GITLAB_PROJECT}/labels", callback=self._write, content_type="application/json"
        )
        mock.add_callback(
            responses.PUT, f"{GITLAB_PROJECT}/labels", callback=self._write, content_type="application/json"
        )

    def _json(self, name: str) -> str:
        label = self.labels[name]
        return json.dumps({"id": 7, "name": name, "color": label["color"], "description": label["description"]})

    def _get(self, request: PreparedRequest) -> Any:
        self.tokens.add(str(request.headers.get("PRIVATE-TOKEN")))
        name = unquote(str(request.url).rsplit("/", 1)[1])
        if name not in self.labels:
            return 404, {}, json.dumps({"message": "404 Label Not Found"})
        return 200, {}, self._json(name)

    def _write(self, request: PreparedRequest) -> Any:
        body = json.loads(request.body or b"{}")
        self.labels[body["name"]] = {"color": body["color"], "description": body["description"]}
        self.writes.append(f"{'create' if request.method == 'POST' else 'update'} {body['name']}")
        return (201 if request.method == "POST" else 200), {}, self._json(body["name"])


def test_cli_syncs_gitlab_labels(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("service.cli.labels.WRITE_PAUSE", 0.0)  # the pacing itself is tested above
    specs = label_specs(load())
    current = {s.name: {"color": f"#{s.colour}", "description": s.description} for s in specs}
    current[specs[0].name] = {"color": "#000000", "description": "old words"}
    del current[specs[1].name]
    fake = FakeGitlabLabels(current)
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    args = ["labels", "sync", "--tracker", "gitlab", "--repo", "digital-services/benefits-portal"]
    env = {"PVM_GITLAB_URL": GITLAB, "PVM_GITLAB_TOKEN": "glpat-sync"}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        result = run_cli(args, url, tmp_path, **env)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == (
            f"gitlab digital-services/benefits-portal: 1 created, 1 updated, {len(specs) - 2} unchanged"
        )
        assert f"[1/{len(specs)}] {specs[0].name}: updated" in result.stderr
        assert f"[2/{len(specs)}] {specs[1].name}: created" in result.stderr
        again = run_cli(args, url, tmp_path, **env)
    assert again.exit_code == 0 and f"0 created, 0 updated, {len(specs)} unchanged" in again.stdout
    assert fake.writes == [f"update {specs[0].name}", f"create {specs[1].name}"]
    assert fake.labels[specs[0].name] == {"color": f"#{specs[0].colour}", "description": specs[0].description}
    assert fake.tokens == {"glpat-sync"} and "glpat-sync" not in result.output


def test_cli_stops_on_refused_credentials_naming_the_setting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pvm.sqlite3'}"
    one = re.compile(re.escape(f"{REPO_API}/labels/") + r"[^/?]+$")
    with responses.RequestsMock() as mock:
        mock.get(one, status=401, json={"message": "Bad credentials", "documentation_url": "https://docs.github.com"})
        result = run_cli(
            ["labels", "sync", "--tracker", "github", "--repo", "acme/portal"],
            url,
            tmp_path,
            PVM_GITHUB_TOKEN="ghp_bad",
        )
    assert result.exit_code == 1
    assert "label sync stopped" in result.stderr and "PVM_GITHUB_TOKEN" in result.stderr
    assert "ghp_bad" not in result.output
    missing = run_cli(["labels", "sync", "--tracker", "gitlab", "--repo", "group/project"], url, tmp_path)
    assert missing.exit_code == 2 and "PVM_GITLAB_TOKEN" in missing.stderr
    for tracker, repo in (("github", "acme/portal/issues"), ("github", "acme/"), ("gitlab", "group//project")):
        bad = run_cli(["labels", "sync", "--tracker", tracker, "--repo", repo], url, tmp_path, PVM_GITHUB_TOKEN="x")
        assert bad.exit_code == 2 and f"--repo {repo!r} is not OWNER/NAME" in bad.stderr
