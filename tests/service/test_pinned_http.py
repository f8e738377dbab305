"""The pinned client: the request goes to the address the guard checked, names the host, is never redirected."""

from __future__ import annotations

import pytest

from service.address_guard import AddressRefused
from service.pinned_http import HttpFailure, PinnedHttp
from tests.local_http import Endpoint, serving
from tests.tls import make_authority

HOST = "hooks.example.test"  # .test never resolves on the internet: only the injected resolver knows it


def resolving(*addresses: str):
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return list(addresses)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def test_the_request_goes_to_the_checked_address_and_names_the_host() -> None:
    resolver = resolving("127.0.0.1")
    with serving() as endpoint:
        client = PinnedHttp(allowed_private_hosts=(HOST,), resolver=resolver, timeout=5)
        answer = client.request("POST", endpoint.url("/hook?x=1", host=HOST), body=b"{}")
    assert answer.status == 200 and answer.body == b"ok"
    (seen,) = endpoint.requests
    assert seen.path == "/hook?x=1" and seen.headers["host"] == f"{HOST}:{endpoint.port}"
    assert resolver.calls == [HOST]  # resolved once, by the guard; the connection used that answer


def test_https_is_pinned_to_the_ip_with_sni_and_the_certificate_checked_for_the_host_name(tmp_path) -> None:
    authority = make_authority(tmp_path / "ca")
    with serving(tls=authority.server_context(HOST)) as endpoint:
        client = PinnedHttp(
            allowed_private_hosts=(HOST,), resolver=resolving("127.0.0.1"), ca_certs=authority.ca_file, timeout=5
        )
        answer = client.request("GET", endpoint.url("/figures.json", host=HOST))
    assert answer.status == 200
    assert endpoint.server_names == [HOST]  # SNI names the host, not 127.0.0.1
    assert endpoint.requests[0].headers["host"] == f"{HOST}:{endpoint.port}"


def test_a_certificate_for_another_name_is_refused_before_anything_is_sent(tmp_path) -> None:
    authority = make_authority(tmp_path / "ca")
    with serving(tls=authority.server_context("elsewhere.example.test")) as endpoint:
        client = PinnedHttp(
            allowed_private_hosts=(HOST,), resolver=resolving("127.0.0.1"), ca_certs=authority.ca_file, timeout=5
        )
        with pytest.raises(HttpFailure) as failed:
            client.request("POST", endpoint.url("/hook", host=HOST), body=b"{}")
    assert not failed.value.connected and "not valid for the host name" in failed.value.message
    assert endpoint.requests == []


def test_an_untrusted_certificate_is_refused(tmp_path) -> None:
    authority, stranger = make_authority(tmp_path / "ca"), make_authority(tmp_path / "other")
    with serving(tls=stranger.server_context(HOST)) as endpoint:
        client = PinnedHttp(
            allowed_private_hosts=(HOST,), resolver=resolving("127.0.0.1"), ca_certs=authority.ca_file, timeout=5
        )
        with pytest.raises(HttpFailure, match="could not be verified"):
            client.request("GET", endpoint.url("/", host=HOST))
    assert endpoint.requests == []


def test_a_redirect_is_returned_not_followed() -> None:
    endpoint = Endpoint(answers=[(302, {"Location": "http://127.0.0.1:9/elsewhere"}, b"")])
    with serving(endpoint):
        answer = PinnedHttp(allowed_private_hosts=("127.0.0.1",), timeout=5).request("GET", endpoint.url("/a"))
    assert answer.status == 302 and [seen.path for seen in endpoint.requests] == ["/a"]


@pytest.mark.parametrize(
    ("url", "addresses", "says"),
    [
        ("http://127.0.0.1:{port}/hook", None, "loopback"),
        ("http://[::1]:{port}/hook", None, "loopback"),
        ("http://10.1.2.3/hook", None, "private"),
        ("http://169.254.169.254/latest/meta-data/", None, "metadata"),
        ("https://hooks.example.org/pvm", ["10.0.0.8"], "private"),
        ("https://hooks.example.org/pvm", ["169.254.169.254"], "metadata"),
        ("https://hooks.example.org/pvm", ["::1"], "loopback"),
        ("https://hooks.example.org/pvm", ["93.184.216.34", "127.0.0.1"], "loopback"),
    ],
)
def test_the_guard_refuses_before_connecting(url: str, addresses: list[str] | None, says: str) -> None:
    with serving() as endpoint:
        client = PinnedHttp(**({"resolver": resolving(*addresses)} if addresses else {}), timeout=5)
        with pytest.raises(AddressRefused, match=says):
            client.request("POST", url.format(port=endpoint.port), body=b"{}")
    assert endpoint.requests == []


def test_a_slow_answer_times_out_after_the_request_was_sent() -> None:
    with serving(Endpoint(delay=3)) as endpoint:
        client = PinnedHttp(allowed_private_hosts=("127.0.0.1",), timeout=1)
        with pytest.raises(HttpFailure) as failed:
            client.request("POST", endpoint.url("/slow"), body=b"{}")
    assert failed.value.connected and "1 s" in failed.value.message


def test_nothing_listening_is_a_failure_to_connect() -> None:
    with serving() as endpoint:
        url = endpoint.url("/gone")
    with pytest.raises(HttpFailure) as failed:
        PinnedHttp(allowed_private_hosts=("127.0.0.1",), timeout=2).request("GET", url)
    assert not failed.value.connected and "could not connect" in failed.value.message


def test_a_large_answer_is_cut_at_the_limit() -> None:
    with serving(Endpoint(default=(200, {}, b"x" * 5000))) as endpoint:
        answer = PinnedHttp(allowed_private_hosts=("127.0.0.1",), read_limit=1000).request("GET", endpoint.url("/"))
    assert answer.truncated and len(answer.body) == 1000
