"""Process logging: one setup for every entry point (`pvm ...` and gunicorn's `service.wsgi:app`).

Without it a gunicorn web process would print only warnings, bare: the INFO lines that say which delivery was
stored or refused, and why, would be lost.

Every record is one line. Log lines carry values from outside (event names, delivery ids, tracker answers, e-mail
servers' replies, exception texts), and a line break in one of them would let its sender write a line of their own
that reads like the service's ("... INFO service.webhooks.views: webhook jira delivery ... stored"). So the message
of every record is escaped once, when the record is made, whoever logged it and whichever handler writes it: line
breaks and other control characters become visible escapes (`\\n`, `\\x1b`), and a backslash is doubled so that an
escape in the input cannot pass for one of ours. A traceback keeps its lines, each marked with ` | ` so none of them
can pass for a record of its own.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTINUATION = "\n | "
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def escape(text: str) -> str:
    """`text` on one line: every character that is not printable (line and paragraph separators, ANSI escapes, NUL,
    ...) as a Python escape, and `\\` doubled."""
    if text.isprintable() and "\\" not in text:
        return text  # the usual case, checked in C
    return "".join(_NAMED.get(char) or (char if char.isprintable() else _escaped(char)) for char in text)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class OneLineRecord(logging.LogRecord):
    """A record whose message is escaped to one line: for every handler (ours, gunicorn's, a test's), once."""

    def getMessage(self) -> str:
        return escape(super().getMessage())


class OneLineFormatter(logging.Formatter):
    """The standard format, with a traceback or stack marked line by line as part of the record it belongs to."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        # From exc_info, not record.exc_text: another handler may have cached its own, unmarked rendering there.
        if record.exc_info:
            text += "\n" + _continued(self.formatException(record.exc_info))
        elif record.exc_text:
            text += "\n" + _continued(record.exc_text)
        if record.stack_info:
            text += "\n" + _continued(self.formatStack(record.stack_info))
        return text


def _continued(block: str) -> str:
    # Control characters inside an exception's own text are escaped too; the traceback's own breaks are kept.
    return " | " + CONTINUATION.join(escape(line) for line in block.splitlines())


def formatter() -> logging.Formatter:
    return OneLineFormatter(FORMAT)


def configure(verbose: bool = False) -> None:
    """INFO (DEBUG when verbose) to standard error; gunicorn's own loggers keep their handlers (and get one-line
    messages too: the records are made one-line, not just our handler's output)."""
    if logging.getLogRecordFactory() is logging.LogRecord:  # a host process's own factory is left alone
        logging.setLogRecordFactory(OneLineRecord)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    if not verbose:  # Alembic's per-connection chatter hides the one line a user needs
        logging.getLogger("alembic").setLevel(logging.WARNING)
