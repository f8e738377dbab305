"""HTTP requests to addresses users chose: guarded, sent to the address that was checked, never redirected, bounded.

Stakeholders' webhooks and pulled readings go to URLs that people typed. Each request resolves the host once through
the address guard and then connects to that checked IP, so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot aim the request at a private address. The URL's host name is kept for everything
that names the server: the `Host` header, TLS SNI and the certificate's host name check.

Pinning technique: a urllib3 connection pool opened on the checked IP with `server_hostname` (SNI) and
`assert_hostname` (certificate check) set to the URL's host name. urllib3 directly rather than `requests`, because
`requests` reads HTTP(S)_PROXY from the environment (a proxy would resolve the name again, defeating the pin) and
follows redirects unless each call says otherwise.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_match_hostname import CertificateError

from service.address_guard import Resolved, Resolver, check_url, system_resolver
from service.config import Settings

CHUNK = 64 * 1024
USER_AGENT = "public-value-monitor"


class HttpFailure(Exception):
    """No HTTP answer. `connected`: the request may have reached the server (an answer was cut off or late)."""

    def __init__(self, message: str, *, connected: bool) -> None:
        super().__init__(message)
        self.message = message
        self.connected = connected


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive (urllib3's HTTPHeaderDict)
    body: bytes  # at most `read_limit` bytes
    truncated: bool  # the server sent more than `read_limit`


@dataclass(frozen=True)
class PinnedHttp:
    """One guarded client per use; `resolver` and `ca_certs` are injected by tests (a local CA, a fake DNS)."""

    allowed_private_hosts: tuple[str, ...] = ()
    timeout: float = 10.0  # seconds for the whole request: connecting, sending and reading the answer
    resolver: Resolver = system_resolver
    ca_certs: str | None = None  # None: certifi's bundle, as `requests` uses for the trackers
    read_limit: int = 1024 * 1024
    extra_headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> PinnedHttp:
        made = cls(allowed_private_hosts=tuple(settings.allowed_private_hosts), timeout=settings.outbound_timeout)
        return replace(made, **overrides)  # type: ignore[arg-type]

    def check(self, url: str) -> Resolved:
        """The URL's checked address; AddressRefused (naming the rule) when it may not be used."""
        return check_url(url, self.allowed_private_hosts, self.resolver)

    def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Answer:
        """Send one request to the URL's checked address. A 3xx is returned as it is, never followed.

        Raises AddressRefused (the guard said no) or HttpFailure (no answer in time, or none at all).
        """
        target = self.check(url)
        parts = urlsplit(target.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent_headers = {
            "Host": _host_header(target),
            "User-Agent": USER_AGENT,
            # Compressed answers could expand far beyond read_limit before it is checked.
            "Accept-Encoding": "identity",
            **self.extra_headers,
            **(headers or {}),
        }
        deadline = time.monotonic() + self.timeout
        pool = self._pool(target)
        try:
            response = pool.urlopen(
                method,
                path,
                body=body,
                headers=sent_headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
            )
            try:
                content, truncated = _read(response, self.read_limit, deadline, self.timeout)
                return Answer(response.status, response.headers, content, truncated)
            finally:
                response.release_conn()
        except (NewConnectionError, ConnectTimeoutError) as exc:
            raise HttpFailure(f"could not connect ({_why(exc)})", connected=False) from None
        except SSLError as exc:
            # The handshake failed, so nothing was sent. The text names the check, not the host.
            raise HttpFailure(f"TLS failed: {_tls_reason(exc)}", connected=False) from None
        except ReadTimeoutError:
            raise HttpFailure(f"no answer within {self.timeout:g} s", connected=True) from None
        except (ProtocolError, HTTPError, OSError) as exc:
            raise HttpFailure(f"the connection failed ({_why(exc)})", connected=True) from None
        finally:
            pool.close()

    def _pool(self, target: Resolved) -> urllib3.HTTPConnectionPool:
        if target.scheme == "https":
            return urllib3.HTTPSConnectionPool(
                target.address,
                target.port,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                ca_certs=self.ca_certs or certifi.where(),
                # The connection goes to the checked IP; SNI and the certificate check use the host name.
                server_hostname=target.host,
                assert_hostname=target.host,
            )
        return urllib3.HTTPConnectionPool(target.address, target.port, maxsize=1)


def _host_header(target: Resolved) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _read(response: urllib3.BaseHTTPResponse, limit: int, deadline: float, timeout: float) -> tuple[bytes, bool]:
    """The body up to `limit` bytes; the socket's read timeout bounds each read, the deadline the whole answer (a
    server dripping a byte at a time would otherwise hold a worker for ever)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        if time.monotonic() > deadline:
            raise HttpFailure(f"the answer took longer than {timeout:g} s", connected=True)
        chunk = response.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:limit], True


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc.__cause__ or exc.__context__
    for found in (reason, exc):
        if isinstance(found, OSError) and found.strerror:
            return found.strerror
    if isinstance(reason, BaseException):
        return type(reason).__name__
    return type(exc).__name__


def _tls_reason(exc: SSLError) -> str:
    seen: list[BaseException] = [exc]
    while seen:
        found = seen.pop()
        # urllib3 checks the host name itself (assert_hostname), with its own CertificateError.
        if isinstance(found, CertificateError) or "hostname" in str(getattr(found, "verify_message", "")).lower():
            return "the server's certificate is not valid for the host name"
        if isinstance(found, ssl.SSLCertVerificationError):
            return "the server's certificate could not be verified"
        seen += [cause for cause in (found.__cause__, found.__context__, *found.args) if isinstance(cause, Exception)]
    return "the TLS handshake did not complete"
