"""A real HTTP(S) server on loopback that records what it receives and answers what the test tells it to."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Endpoint:
    """`answers` are used one per request, in order; after them every request gets `default`."""

    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    default: tuple[int, dict[str, str], bytes] = (200, {}, b"ok")
    delay: float = 0.0  # seconds before answering
    requests: list[Seen] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI of each handshake
    port: int = 0
    host: str = "127.0.0.1"
    scheme: str = "http"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/", host: str | None = None) -> str:
        name = host or self.host
        shown = f"[{name}]" if ":" in name else name
        return f"{self.scheme}://{shown}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _answer(self) -> None:
        endpoint = self.server.endpoint
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with endpoint.lock:
            endpoint.requests.append(
                Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            status, headers, content = endpoint.answers.pop(0) if endpoint.answers else endpoint.default
        if endpoint.delay:
            threading.Event().wait(endpoint.delay)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting

    do_GET = do_POST = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoint: Endpoint


class _Server6(_Server):
    address_family = socket.AF_INET6


@contextmanager
def serving(endpoint: Endpoint | None = None, tls: ssl.SSLContext | None = None) -> Iterator[Endpoint]:
    """Serve on an ephemeral port of `endpoint.host` (127.0.0.1 or ::1) until the block ends."""
    endpoint = endpoint or Endpoint()
    server_class = _Server6 if ":" in endpoint.host else _Server
    server = server_class((endpoint.host, 0), _Handler)
    server.endpoint = endpoint
    if tls is not None:
        tls.sni_callback = lambda sock, name, context: endpoint.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        endpoint.scheme = "https"
    endpoint.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
