"""GitHub signature checking and identity."""

import pytest

from integrations.base import WebhookError
from integrations.github.webhook import identify, signature, verify

# The test vector of GitHub's documentation, "Validating webhook deliveries".
VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello, World!"
VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_documented_signature_vector() -> None:
    assert signature(VECTOR_BODY, VECTOR_SECRET) == VECTOR_SIGNATURE
    assert verify({"x-hub-signature-256": VECTOR_SIGNATURE}, VECTOR_BODY, VECTOR_SECRET)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-hub-signature-256": ""},
        {"x-hub-signature-256": VECTOR_SIGNATURE[:-1] + "0"},
        {"x-hub-signature-256": VECTOR_SIGNATURE.removeprefix("sha256=")},
        # The legacy SHA-1 header alone is not enough.
        {"x-hub-signature": "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"},
    ],
)
def test_wrong_or_missing_signature_is_refused(headers: dict[str, str]) -> None:
    assert not verify(headers, VECTOR_BODY, VECTOR_SECRET)


def test_signature_is_over_the_exact_bytes() -> None:
    assert not verify({"x-hub-signature-256": VECTOR_SIGNATURE}, VECTOR_BODY + b"\n", VECTOR_SECRET)
    assert not verify({"x-hub-signature-256": VECTOR_SIGNATURE}, VECTOR_BODY, VECTOR_SECRET + " ")


def test_identify_reads_event_delivery_and_action() -> None:
    identity = identify({"x-github-event": "issues", "x-github-delivery": "72d3162e"}, {"action": "labeled"})
    assert (identity.event, identity.delivery_id, identity.action) == ("issues", "72d3162e", "labeled")
    assert identify({"x-github-event": "ping"}, {"zen": "x"}).delivery_id is None


def test_identify_without_event_header_names_it() -> None:
    with pytest.raises(WebhookError) as raised:
        identify({"x-github-delivery": "1"}, {"action": "opened"})
    assert raised.value.status == 400
    assert "X-GitHub-Event" in str(raised.value)
