"""Signed notes read and write the C2SP format exactly as Go's sumdb/note does."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.valuelog.checkpoint import SignedCheckpoint
from service.valuelog.note import NoteError, Signer, Verifier, open_note

# The example of golang.org/x/mod/sumdb/note (and of the C2SP signed-note spec's implementations).
GO_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
GO_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def test_opens_the_reference_implementation_s_note() -> None:
    assert open_note(GO_NOTE, Verifier.parse(GO_VKEY)) == "This is an example message.\n"


def test_refuses_the_reference_note_altered() -> None:
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("example message", "example massage"), Verifier.parse(GO_VKEY))


def test_a_verifier_key_whose_base64_holds_a_plus_is_read() -> None:
    for _ in range(64):  # about one key in two has a '+' in its base64
        signer = Signer("values.city.example/value-log", Ed25519PrivateKey.generate())
        vkey = signer.verifier.vkey()
        if "+" in vkey.split("+", 2)[2]:
            break
    assert Verifier.parse(vkey) == signer.verifier
    body = SignedCheckpoint.body(signer.name, 12, bytes(range(32)))
    point = SignedCheckpoint.parse(signer.sign(body), Verifier.parse(vkey))
    assert (point.origin, point.size, point.root) == (signer.name, 12, bytes(range(32)))


@pytest.mark.parametrize(
    ("vkey", "says"),
    [
        ("example.com/foo+530d903a", "reads <name>+<8 hex digits>+<base64 key>"),
        ("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "does not match"),
        ("example.com/foo+530d903a+!!!", "not valid hex or base64"),
    ],
)
def test_malformed_verifier_keys_say_what_is_wrong(vkey: str, says: str) -> None:
    with pytest.raises(NoteError, match=says.replace("+", r"\+")):
        Verifier.parse(vkey)


def test_a_note_signed_by_another_key_is_refused() -> None:
    ours = Signer("pvm.test/value-log", Ed25519PrivateKey.generate())
    theirs = Signer("pvm.test/value-log", Ed25519PrivateKey.generate())
    note = theirs.sign(SignedCheckpoint.body(theirs.name, 3, bytes(32)))
    with pytest.raises(NoteError, match="carries no signature by"):
        SignedCheckpoint.parse(note, ours.verifier)
