"""The key that signs the value log's checkpoints: from PVM_LOG_SIGNING_KEY, or made once per instance folder
outside production (written with mode 0600, and said so at start)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from service.config import Settings, parse_signing_key
from service.valuelog.note import Signer, Verifier

log = logging.getLogger(__name__)
KEY_FILE = "log_signing_key.pem"


def development_key(instance_dir: Path) -> str:
    """The instance folder's key (PEM), made on first use; never used in production (config refuses to start)."""
    path = instance_dir / KEY_FILE
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            # O_EXCL: two processes starting at once do not overwrite each other's key; 0600 from the first byte.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text()
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        log.debug("made a development signing key for the value log's checkpoints at %s", path)
    return path.read_text()


def source(settings: Settings) -> str:
    """Where the signing key came from, for the start-up banner and `pvm log key`."""
    path = settings.instance_dir / KEY_FILE
    if path.exists() and settings.log_signing_key == path.read_text():
        return f"the development key made in {path} (mode 0600); set PVM_LOG_SIGNING_KEY to your own in production"
    return "PVM_LOG_SIGNING_KEY"


def signer(settings: Settings) -> Signer:
    if not settings.log_signing_key:
        raise RuntimeError("no log signing key: create_app sets one outside production, config demands one in it")
    return Signer(settings.log_origin, parse_signing_key(settings.log_signing_key))


def verifier(settings: Settings) -> Verifier:
    return signer(settings).verifier
