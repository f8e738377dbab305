"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, as Go's sumdb/note and transparency logs write them.

A note is UTF-8 text ending in a newline, a blank line, then one line per signature:
`— <key name> <base64(key id (4 bytes) || signature (64 bytes))>`. The key id is the first 4 bytes of
SHA-256(key name || 0x0A || 0x01 || public key). A verifier key travels as `<name>+<hex key id>+<base64(0x01 ||
public key)>`, e.g. `example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"
DASH = "\u2014 "  # an em dash and a space start every signature line
MAX_NOTE = 1 << 16  # a checkpoint is a few hundred bytes; refuse to parse anything much larger


class NoteError(ValueError):
    """The note or key is malformed, or its signature does not verify; the message says which and what to do."""


def _check_name(name: str) -> str:
    if not name or any(ch.isspace() or ch == "+" for ch in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes  # 32 raw bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    def vkey(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(ED25519 + self.public).decode()}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(
                "a verifier key reads <name>+<8 hex digits>+<base64 key>; copy it from /.well-known/pvm-log-key"
            )
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
            claimed = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError):
            raise NoteError("the verifier key's id or key part is not valid hex or base64; copy it again") from None
        if len(raw) != 33 or raw[:1] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key (type byte 0x01 and 32 bytes)")
        verifier = cls(_check_name(name), raw[1:])
        if verifier.id != claimed:
            raise NoteError(f"the verifier key's id {hex_id} does not match its name and key; it was altered")
        return verifier

    def verify(self, text: str, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text.encode())
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(_check_name(self.name), _raw(self.key.public_key()))

    def sign(self, text: str) -> str:
        """The signed note of `text` (which must end in a newline and hold no blank line)."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text must end with a newline and contain no blank line")
        signature = self.verifier.id + self.key.sign(text.encode())
        return f"{text}\n{DASH}{self.name} {base64.b64encode(signature).decode()}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text when `verifier` signed it; NoteError otherwise (a failed known-key signature rejects it)."""
    if len(note) > MAX_NOTE:
        raise NoteError(f"the note is larger than {MAX_NOTE} bytes; it is not a checkpoint")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("not a signed note: no blank line between the text and the signatures")
    text, lines = note[: split + 1], note[split + 2 :]
    if not lines.endswith("\n"):
        raise NoteError("not a signed note: the signature lines must end with a newline")
    for line in lines[:-1].split("\n"):
        if not line.startswith(DASH):
            raise NoteError(f"not a signature line: {line[:60]!r} (each starts with an em dash '—' and a space)")
        name, _, encoded = line[len(DASH) :].rpartition(" ")
        try:
            signature = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError(f"the signature of {name!r} is not base64") from None
        if name != verifier.name or signature[:4] != verifier.id:
            continue  # another key's signature (a witness, say): not ours to judge
        if len(signature) != 68 or not verifier.verify(text, signature[4:]):
            raise NoteError(f"the signature by {name} does not verify: the note was altered or signed by another key")
        return text
    raise NoteError(f"the note carries no signature by {verifier.vkey()}; was it issued by another log?")
