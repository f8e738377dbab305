"""Acting on GitHub through PyGithub: comments with a marker, labels, and the taxonomy's label catalogue.

The only module importing PyGithub. Its own retry is off (it re-sends POSTs on 5xx and read timeouts, which posts
a comment twice) and so is its sleeping between requests: the outbox retries, paces writes and checks markers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException, RateLimitExceededException, UnknownObjectException
from github.Issue import Issue

from integrations.failures import RateLimited, Rejected, Transient, Unauthorised
from integrations.transport import epoch_to_datetime, retry_after_seconds, transport_failure
from service.config import Settings

TRACKER = "github"
# A secondary rate limit without Retry-After: GitHub asks to wait at least a minute.
SECONDARY_LIMIT_WAIT = 60.0


class GithubClient:
    """`TrackerClient` for issue keys `github:owner/repo#34`."""

    tracker = TRACKER

    def __init__(self, github: Github, credential: str) -> None:
        self._github = github
        self._credential = credential  # the setting(s) to name when GitHub refuses them

    def comment(self, target: str, body: str) -> str:
        with self._failures(write=True):
            return str(self._issue(target).create_comment(body).id)

    def find_comment(self, target: str, marker: str) -> str | None:
        with self._failures(write=False):
            for comment in self._issue(target).get_comments():
                if marker in (comment.body or ""):
                    return str(comment.id)
        return None

    def add_label(self, target: str, label: str) -> None:
        with self._failures(write=True):
            self._issue(target).add_to_labels(label)

    def remove_label(self, target: str, label: str) -> None:
        try:
            with self._failures(write=True):
                self._issue(target).remove_from_labels(label)
        except Rejected as exc:
            if "404" not in exc.message:
                raise
            # GitHub answers 404 when the issue no longer has the label: the wanted state already holds.

    def ensure_label(self, repo: str, name: str, colour: str, description: str) -> str:
        """Create or update one label; returns "created", "updated" or "unchanged" (idempotent)."""
        with self._failures(write=True):
            repository = self._github.get_repo(repo)
            existing = repository.get_label(name)
            try:
                # The label object is lazy: reading an attribute is what fetches it (404 when absent).
                current = ((existing.color or "").lower(), existing.description or "")
            except UnknownObjectException:
                repository.create_label(name, colour, description)
                return "created"
            if current == (colour.lower(), description):
                return "unchanged"
            existing.edit(name, colour, description)
            return "updated"

    def _issue(self, target: str) -> Issue:
        repo, number = parse_issue_key(target)
        # Lazy objects: no GET for the repository or issue, only the call that acts.
        return self._github.get_repo(repo).get_issue(number)

    @contextmanager
    def _failures(self, *, write: bool) -> Iterator[None]:
        try:
            yield
        except GithubException as exc:
            raise translate(exc, self._credential, write=write) from None
        except requests.RequestException as exc:
            raise transport_failure(exc, TRACKER, write=write) from None


def parse_issue_key(target: str) -> tuple[str, int]:
    """`github:owner/repo#34` -> ("owner/repo", 34)."""
    prefix, _, rest = target.partition(":")
    repo, _, number = rest.rpartition("#")
    if prefix != TRACKER or repo.count("/") != 1 or not number.isdigit():
        raise Rejected(f"{target!r} is not a GitHub issue key like github:owner/repo#34")
    return repo, int(number)


def translate(exc: GithubException, credential: str, *, write: bool) -> Exception:
    status, headers = exc.status, {k.lower(): v for k, v in (exc.headers or {}).items()}
    message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else None) or ""
    secondary = "secondary rate limit" in message.lower()
    if status in (403, 429) and (
        isinstance(exc, RateLimitExceededException)
        or headers.get("x-ratelimit-remaining") == "0"
        or "retry-after" in headers
        or secondary
        or status == 429
    ):
        retry_after = retry_after_seconds(headers.get("retry-after"))
        reset_at = epoch_to_datetime(headers.get("x-ratelimit-reset")) if retry_after is None else None
        if retry_after is None and reset_at is None:
            retry_after = SECONDARY_LIMIT_WAIT
        kind = "secondary rate limit" if secondary else "rate limit"
        return RateLimited(
            f"github: {kind} hit (HTTP {status}); waiting before the next write",
            retry_after=retry_after,
            reset_at=reset_at,
        )
    if status == 401:
        return Unauthorised(
            f"github: credentials refused (HTTP 401 {message or 'Bad credentials'}); check {credential}"
        )
    if status == 403:
        return Unauthorised(
            f"github: permission denied (HTTP 403 {message}); the credentials in {credential} need "
            "Issues read and write access to this repository"
        )
    if status in (404, 410, 422):
        return Rejected(f"github: HTTP {status} {message}; the issue or label does not exist or is not writable")
    if status >= 500 or status in (408, 409):
        return Transient(f"github: HTTP {status} {message}; will retry", maybe_sent=write and status >= 500)
    return Rejected(f"github: HTTP {status} {message}")


def make_client(settings: Settings) -> GithubClient | str:
    """A client from a token or GitHub App installation settings, or why there is none."""
    if settings.github_token:
        return GithubClient(_github(settings, Auth.Token(settings.github_token)), "PVM_GITHUB_TOKEN")
    app = {
        "PVM_GITHUB_APP_ID": settings.github_app_id,
        "PVM_GITHUB_APP_PRIVATE_KEY": settings.github_app_private_key,
        "PVM_GITHUB_APP_INSTALLATION_ID": settings.github_app_installation_id,
    }
    if not any(app.values()):
        return (
            "GitHub is not configured: set PVM_GITHUB_TOKEN, or PVM_GITHUB_APP_ID, PVM_GITHUB_APP_PRIVATE_KEY "
            "and PVM_GITHUB_APP_INSTALLATION_ID for a GitHub App"
        )
    missing = [name for name, value in app.items() if not value]
    if missing:
        return f"GitHub App settings incomplete: set {', '.join(missing)}"
    installation = str(settings.github_app_installation_id)
    if not installation.isdigit():
        return f"PVM_GITHUB_APP_INSTALLATION_ID must be a number, got {installation!r}"
    key = str(settings.github_app_private_key).replace("\\n", "\n")  # PEM pasted into one env line
    unreadable = _unreadable_key(key)
    if unreadable:
        return unreadable
    auth = Auth.AppAuth(str(settings.github_app_id), key).get_installation_auth(int(installation))
    return GithubClient(_github(settings, auth), "PVM_GITHUB_APP_ID / PVM_GITHUB_APP_PRIVATE_KEY")


def _unreadable_key(pem: str) -> str | None:
    """PyGithub signs with the key only at the first request, so a bad key would fail every send as an unexpected
    error (retried, then dead with a traceback in the log) instead of saying which setting to fix."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # The exception's text never contains the key; only its kind is named here anyway.
        return (
            f"PVM_GITHUB_APP_PRIVATE_KEY is not a readable PEM private key ({type(exc).__name__}); paste the "
            "unencrypted .pem file GitHub generated for the App (newlines may be written as \\n)"
        )
    if not isinstance(key, rsa.RSAPrivateKey):
        return "PVM_GITHUB_APP_PRIVATE_KEY must be the App's RSA private key (GitHub signs App tokens with RS256)"
    return None


def _github(settings: Settings, auth: Auth.Auth) -> Github:
    return Github(
        auth=auth,
        base_url=settings.github_api_url,
        timeout=max(1, round(settings.tracker_timeout)),  # PyGithub takes whole seconds
        retry=None,  # PyGithub's retry re-sends POSTs: the outbox retries instead, marker first
        seconds_between_requests=None,  # pacing is the dispatcher's job, shared by all workers
        seconds_between_writes=None,
        lazy=True,
    )
