"""Files that only this user may read: the SQLite database (with its -wal and -shm) and the development secret key.

The database holds stakeholders' names and contacts and the value log; made with the process's umask it would be
readable by every user of the machine (0644). SQLite gives -wal and -shm the mode of the database file, so a private
database file keeps them private too.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by this user only from its first byte (never world-readable, even briefly)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def sqlite_path(database: str | None) -> Path | None:
    """The file an SQLite URL's database part names; None for an in-memory database or a `file:` URI."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_sqlite_private(path: Path) -> None:
    """Create the database file private before SQLite opens it, or narrow an existing one (and its companions) to
    this user: a database made by an earlier version may be world-readable."""
    if not path.parent.is_dir():
        return  # SQLite will say it cannot open the file; nothing to protect yet
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)  # an empty file is an empty database
        os.close(descriptor)
    except OSError as exc:
        log.warning("could not create %s as a private file (%s); check the folder's permissions", path, exc.strerror)
        return
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
            if mode & 0o077:
                candidate.chmod(FILE_MODE)
        except FileNotFoundError:
            continue
        except OSError as exc:  # not the owner: say so rather than fail the start
            log.warning(
                "%s is readable by other users and could not be made private (%s); run chmod 600 on it",
                candidate,
                exc.strerror,
            )
