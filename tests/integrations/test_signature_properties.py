"""Property tests of the three webhook signature checks: the right signature of any body verifies, anything else
(another body, another secret, a changed or truncated signature, any header text at all) is refused, never raised."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from integrations.github import webhook as github
from integrations.gitlab import webhook as gitlab
from integrations.jira import webhook as jira

bodies = st.binary(max_size=2048)
secrets = st.text(min_size=1, max_size=64).filter(
    lambda s: s.encode("utf-8", "surrogatepass") == s.encode("utf-8", "ignore")
)
header_text = st.text(max_size=200)


@given(body=bodies, secret=secrets)
def test_the_signature_of_the_body_verifies(body: bytes, secret: str) -> None:
    assert github.verify({"x-hub-signature-256": github.signature(body, secret)}, body, secret)
    assert jira.verify({"x-hub-signature": jira.signature(body, secret)}, body, secret)
    assert gitlab.verify({"x-gitlab-token": secret}, body, secret)


@given(body=bodies, other=bodies, secret=secrets, wrong=secrets)
def test_another_body_or_secret_is_refused(body: bytes, other: bytes, secret: str, wrong: str) -> None:
    signed = github.signature(body, secret)
    if other != body:
        assert not github.verify({"x-hub-signature-256": signed}, other, secret)
        assert not jira.verify({"x-hub-signature": signed}, other, secret)
    if wrong != secret:
        assert not github.verify({"x-hub-signature-256": signed}, body, wrong)
        assert not jira.verify({"x-hub-signature": signed}, body, wrong)
        assert not gitlab.verify({"x-gitlab-token": secret}, body, wrong)


@given(body=bodies, secret=secrets, position=st.integers(min_value=0), replacement=st.characters())
def test_a_changed_or_cut_signature_is_refused(body: bytes, secret: str, position: int, replacement: str) -> None:
    signed = github.signature(body, secret)
    at = position % len(signed)
    changed = signed[:at] + replacement + signed[at + 1 :]
    if changed.strip() != signed:
        assert not github.verify({"x-hub-signature-256": changed}, body, secret)
    assert not github.verify({"x-hub-signature-256": signed[:at]}, body, secret)
    assert not jira.verify({"x-hub-signature": signed[:at]}, body, secret)


@given(body=bodies, secret=secrets, presented=header_text)
def test_any_header_text_is_answered_with_true_or_false(body: bytes, secret: str, presented: str) -> None:
    for verify, name in (
        (github.verify, "x-hub-signature-256"),
        (jira.verify, "x-hub-signature"),
        (gitlab.verify, "x-gitlab-token"),
    ):
        assert verify({name: presented}, body, secret) in (True, False)
    assert not github.verify({}, body, secret) and not jira.verify({}, body, secret)
    assert not gitlab.verify({}, body, secret)
