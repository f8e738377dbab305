"""The address guard refuses every address class an attacker would aim a webhook at, however the name is written."""

from __future__ import annotations

import re

import pytest

from service.address_guard import AddressRefused, check_url


def resolving(*addresses: str):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("127.0.0.1", "loopback"),
        ("127.5.6.7", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.8", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "not a public"),
        ("224.0.0.1", "not a public"),
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused_naming_the_rule(address: str, says: str) -> None:
    with pytest.raises(AddressRefused) as refused:
        check_url("https://hooks.example.org/pvm", resolver=resolving(address))
    assert says in str(refused.value) and "PVM_ALLOWED_PRIVATE_HOSTS" in str(refused.value)


def test_one_bad_address_among_good_ones_is_enough_to_refuse() -> None:
    with pytest.raises(AddressRefused, match="loopback"):
        check_url("https://hooks.example.org/x", resolver=resolving("93.184.216.34", "127.0.0.1"))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://169.254.169.254/latest"])
def test_literal_addresses_are_checked_by_the_real_resolver(url: str) -> None:
    with pytest.raises(AddressRefused):
        check_url(url)


def test_localhost_resolves_to_loopback_and_is_refused() -> None:
    with pytest.raises(AddressRefused, match="loopback"):
        check_url("http://localhost:9/hook")


def test_a_public_address_is_resolved_once_and_returned_to_connect_to() -> None:
    calls: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return ["93.184.216.34"]

    checked = check_url("https://Hooks.Example.org./pvm?x=1", resolver=resolver)
    assert (checked.host, checked.port, checked.address, checked.scheme) == (
        "hooks.example.org",
        443,
        "93.184.216.34",
        "https",
    )
    assert calls == [("hooks.example.org", 443)]


def test_listed_hosts_may_be_private() -> None:
    checked = check_url("http://relay.internal:8080/x", ["Relay.Internal"], resolver=resolving("10.1.2.3"))
    assert checked.address == "10.1.2.3"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.org/x", "only http(s)"),
        ("file:///etc/passwd", "only http(s)"),
        ("https://user:pw@example.org/", "user name or password"),
        ("https:///nohost", "names no host"),
        ("https://example.org:99999/", "port"),
    ],
)
def test_malformed_urls_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(AddressRefused, match=re.escape(says)):
        check_url(url, resolver=resolving("93.184.216.34"))


def test_an_unknown_name_is_refused_with_the_reason() -> None:
    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(AddressRefused, match="cannot be resolved"):
        check_url("https://no-such-host.invalid/", resolver=fails)
