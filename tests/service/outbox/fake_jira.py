"""A stateful stand-in for Jira Cloud's REST API v2 (serverInfo, issue, comments, label updates)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import responses
from requests import PreparedRequest

from tests.service.outbox.fakes import Fault, PostsComments

SITE = "https://acme.atlassian.net"

SERVER_INFO = {
    "baseUrl": SITE,
    "displayUrl": SITE,
    "version": "1001.0.0-SNAPSHOT",
    "versionNumbers": [1001, 0, 0],
    "deploymentType": "Cloud",
    "buildNumber": 100288,
    "buildDate": "2026-11-27T02:35:16.000+0000",
    "serverTime": "2026-11-28T12:00:00.000+0000",
    "scmInfo": "9f5a3c9f7b1e0c3b1f1d2b0b6c7f3e2a1d0c9b8a",
    "serverTitle": "Jira",
    "defaultLocale": {"locale": "en_US"},
    "serverTimeZone": "Etc/UTC",
}


@dataclass
class FakeJiraIssue(PostsComments):
    key: str = "PROJ-12"
    issue_id: str = "10012"
    comments: list[dict[str, Any]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    post_faults: list[Fault] = field(default_factory=list)
    posts: int = 0
    auth_headers: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"{SITE}/rest/api/2"

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.GET, f"{self.api}/serverInfo", callback=self._server_info)
        mock.add_callback(responses.POST, f"{self.api}/issue/{self.key}/comment", callback=self._post_comment)
        mock.add_callback(
            responses.GET,
            re.compile(re.escape(f"{self.api}/issue/{self.key}/comment") + r"(\?.*)?$"),
            callback=self._list,
        )
        mock.add_callback(
            responses.GET,
            re.compile(re.escape(f"{self.api}/issue/{self.issue_id}") + r"(\?.*)?$"),
            callback=self._issue,
        )
        mock.add_callback(
            responses.GET, re.compile(re.escape(f"{self.api}/issue/{self.key}") + r"(\?.*)?$"), callback=self._issue
        )
        mock.add_callback(responses.PUT, f"{self.api}/issue/{self.issue_id}", callback=self._update)

    def _server_info(self, request: PreparedRequest) -> Any:
        self.auth_headers.append(str(request.headers.get("Authorization", "")))
        return 200, {}, json.dumps(SERVER_INFO)

    def _comment(self, body: str) -> dict[str, Any]:
        cid = str(10_100 + len(self.comments))
        author = {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Public Value Monitor", "active": True}
        return {
            "self": f"{self.api}/issue/{self.issue_id}/comment/{cid}",
            "id": cid,
            "author": author,
            "body": body,
            "updateAuthor": author,
            "created": "2026-11-28T12:00:00.000+0000",
            "updated": "2026-11-28T12:00:00.000+0000",
            "jsdPublic": True,
        }

    def _list(self, request: PreparedRequest) -> Any:
        page = {"startAt": 0, "maxResults": 100, "total": len(self.comments), "comments": self.comments}
        return 200, {}, json.dumps(page)

    def _issue(self, request: PreparedRequest) -> Any:
        return (
            200,
            {},
            json.dumps(
                {
                    "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                    "id": self.issue_id,
                    "self": f"{self.api}/issue/{self.issue_id}",
                    "key": self.key,
                    "fields": {"labels": list(self.labels)},
                }
            ),
        )

    def _update(self, request: PreparedRequest) -> Any:
        for change in json.loads(request.body or b"{}")["update"]["labels"]:
            if "add" in change and change["add"] not in self.labels:
                self.labels.append(change["add"])
            if "remove" in change and change["remove"] in self.labels:
                self.labels.remove(change["remove"])
        return 204, {}, ""


def jira_error(status: int, *messages: str, **headers: str) -> Any:
    return lambda: (status, headers, json.dumps({"errorMessages": list(messages), "errors": {}}))
