"""Check-in e-mails over SMTP: one connection per batch, STARTTLS whenever offered, credentials only over TLS.

Failures are told in the outbox's words (integrations/failures.py): a server that is down or busy (4xx) is
`Transient`, a refused login `Unauthorised` (the error names PVM_SMTP_URL), a refused recipient or message (5xx)
`Rejected`. Server replies can quote the recipient's address, so errors keep only the reply codes: the outbox API
shows errors to auditors, who do not see contacts.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from integrations.failures import Rejected, TrackerFailure, Transient, Unauthorised
from service.checkins.messages import Message, Outgoing, Send
from service.config import Settings, SmtpUrl, parse_smtp_url


def build(message: Message, mail_from: str, delivery_id: str, at: datetime) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML part last (the one mail readers prefer)."""
    if not message.email:
        raise Rejected(f"stakeholder {message.stakeholder_id} has no e-mail address any more; nothing to send")
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = mail_from
    try:
        mail["To"] = Address(display_name=message.name, addr_spec=message.email)
    except (ValueError, IndexError, TypeError):  # a name the header cannot carry: the address alone still reaches them
        mail["To"] = Address(addr_spec=message.email)
    mail["Date"] = format_datetime(at)
    # The same id on every try of one outbox row: mail readers show a message that arrived twice once.
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    mail["Message-ID"] = f"<{delivery_id}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies are not sent back
    mail["X-PVM-Checkin"] = message.event_type
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


@dataclass
class SmtpSender:
    """The "email" channel. `ssl_context` is injected by tests (a throw-away CA); else the system's trust store."""

    url: SmtpUrl
    mail_from: str
    timeout: float
    ssl_context: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    channel: str = "email"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> SmtpSender | str:
        """A sender, or why there is none (kept as the reason on `skipped` rows)."""
        if not settings.smtp_url:
            return "PVM_SMTP_URL is not set: check-in e-mails are kept, not sent; set it to smtp://host:port"
        return cls(parse_smtp_url(settings.smtp_url), settings.mail_from, settings.outbound_timeout, **overrides)  # type: ignore[arg-type]

    @contextmanager
    def batch(self) -> Iterator[Send]:
        """A send function for several messages over one connection, opened at the first message and opened again
        after a connection failure; when the server cannot be reached, the rest of the batch fails at once."""
        state: dict[str, smtplib.SMTP | TrackerFailure | None] = {"conn": None}

        def send(outgoing: Outgoing) -> str | None:
            mail = build(outgoing.message, self.mail_from, outgoing.delivery_id, outgoing.at)
            found = state["conn"]
            if isinstance(found, TrackerFailure):
                raise found
            conn = found
            if conn is None:
                try:
                    conn = self._connect()
                except TrackerFailure as failure:
                    state["conn"] = failure  # the same server, moments later: the rest of the batch fails alike
                    raise
                state["conn"] = conn
            try:
                conn.send_message(mail)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = sorted({code for code, _ in exc.recipients.values()})
                raise _by_code(codes[0] if codes else 550, "refused the recipient's address") from None
            except smtplib.SMTPSenderRefused as exc:
                raise _by_code(exc.smtp_code, "refused the sender PVM_MAIL_FROM") from None
            except smtplib.SMTPDataError as exc:
                raise _by_code(exc.smtp_code, "refused the message") from None
            except smtplib.SMTPResponseException as exc:
                state["conn"] = None
                _close(conn)
                raise _by_code(exc.smtp_code, "answered") from None
            except (smtplib.SMTPException, OSError) as exc:
                # The message may have been taken before the connection broke: a retry may deliver it twice, and
                # the stable Message-ID lets mail readers show it once.
                state["conn"] = None
                _close(conn)
                raise Transient(
                    f"the SMTP connection failed while sending ({_why(exc)}); will retry", maybe_sent=True
                ) from None
            return mail["Message-ID"].strip("<>")

        try:
            yield send
        finally:
            last = state["conn"]
            if isinstance(last, smtplib.SMTP):
                _close(last, polite=True)

    def _connect(self) -> smtplib.SMTP:
        url = self.url
        conn: smtplib.SMTP | None = None
        try:
            if url.scheme == "smtps":
                conn = smtplib.SMTP_SSL(url.host, url.port, timeout=self.timeout, context=self.ssl_context)
                conn.ehlo()
            else:
                conn = smtplib.SMTP(url.host, url.port, timeout=self.timeout)
                conn.ehlo()
                if conn.has_extn("starttls"):
                    conn.starttls(context=self.ssl_context)
                    conn.ehlo()
                elif url.starttls == "required":
                    raise Transient(
                        f"the SMTP server at {url.shown} does not offer STARTTLS and PVM_SMTP_URL says "
                        "starttls=required; will retry"
                    )
                elif url.username:
                    raise Transient(
                        f"the SMTP server at {url.shown} does not offer STARTTLS, and the password in PVM_SMTP_URL "
                        "is only sent encrypted; enable STARTTLS there or use smtps://; will retry"
                    )
            if url.username:
                conn.login(url.username, url.password or "")
            return conn
        except TrackerFailure:
            _close(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close(conn)
            raise Unauthorised(
                f"the SMTP server at {url.shown} refused the user name and password ({exc.smtp_code}); "
                "fix the credentials in PVM_SMTP_URL"
            ) from None
        except smtplib.SMTPNotSupportedError:
            _close(conn)
            raise Unauthorised(
                f"the SMTP server at {url.shown} offers no login, but PVM_SMTP_URL has credentials; remove them"
            ) from None
        except ssl.SSLError as exc:
            _close(conn)
            raise Transient(f"TLS with the SMTP server at {url.shown} failed ({_tls_why(exc)}); will retry") from None
        except smtplib.SMTPResponseException as exc:
            _close(conn)
            raise _by_code(exc.smtp_code, f"at {url.shown} answered") from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(conn)
            raise Transient(f"cannot reach the SMTP server at {url.shown} ({_why(exc)}); will retry") from None


def _by_code(code: int, what: str) -> TrackerFailure:
    """4xx: try again later; 5xx: retrying cannot help."""
    if 400 <= code < 500:
        return Transient(f"the SMTP server {what} with {code} (try later); will retry")
    return Rejected(f"the SMTP server {what} with {code}")


def _close(conn: smtplib.SMTP | None, polite: bool = False) -> None:
    if conn is None:
        return
    try:
        if polite:
            conn.quit()
        else:
            conn.close()
    except (smtplib.SMTPException, OSError):
        conn.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _tls_why(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "its certificate could not be verified for the host name"
    return exc.reason or type(exc).__name__
