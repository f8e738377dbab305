"""A real SMTP server on loopback (aiosmtpd) with STARTTLS and AUTH, keeping every message it accepts."""

from __future__ import annotations

import email
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "pvm-mailer", "s3cret-Pa55word"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool  # the message came over an encrypted connection
    login: str | None


@dataclass
class Mailbox:
    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)  # one per authenticated connection
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> the reply to RCPT TO
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=default)
        login = session.auth_data if session.authenticated else None
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), message, _encrypted(server, session), login)
            )  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            with self.lock:
                self.logins.append(USER)
        return AuthResult(success=ok, handled=False, auth_data=USER if ok else None)


def _encrypted(server: Any, session: Any) -> bool:
    # After STARTTLS the session says so; with implicit TLS only the transport knows.
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(
    tls: ssl.SSLContext | None = None, *, implicit_tls: bool = False, auth: bool = True, mailbox: Mailbox | None = None
) -> Iterator[tuple[Mailbox, int]]:
    """STARTTLS offered when `tls` is given (or TLS from the first byte with `implicit_tls`); AUTH only over TLS."""
    box = mailbox or Mailbox()
    options: dict[str, Any] = {"hostname": "127.0.0.1", "port": free_port(), "server_hostname": "mail.pvm.test"}
    if implicit_tls:
        options["ssl_context"] = tls
    elif tls is not None:
        options["tls_context"] = tls
    if auth:
        # aiosmtpd counts only STARTTLS as TLS; with implicit TLS every connection is encrypted anyway.
        options.update(authenticator=box.authenticate, auth_require_tls=tls is not None and not implicit_tls)
    controller = Controller(box, **options)
    controller.start()
    try:
        yield box, options["port"]
    finally:
        controller.stop()
