"""The SSRF guard of webhooks out: refused when saved (422 on `url`) and again at send time (REJECTED,
nothing sent), whatever the spelling of the address and whatever DNS answers in between.

Host names under example.test resolve through a fake getaddrinfo; nothing here touches the network."""

import ipaddress
import socket
from typing import Any

import pytest
from flask import Flask

from kernel.config import load_settings
from notifications.channels.base import Outcome
from notifications.webhooks import service as webhooks_service
from notifications.webhooks.ssrf import UnsafeUrlError, refusal_reason, vet_url
from tests.support.http import assert_error
from tests.support.webhooks import (
    URL,
    FakeDns,
    deliver,
    owe,
    owe_and_deliver,
    start_receiver,
    stop_receiver,
)

PUBLIC_V4, PUBLIC_V6 = "8.8.8.8", "2001:4860:4860::8888"
UNSPECIFIED = "0.0.0.0"  # noqa: S104 - an address to refuse, not one to bind

# Addresses written in the URL itself: every special-purpose range, and IPv4 spelt otherwise than a.b.c.d.
UNSAFE_LITERALS = [
    "https://127.0.0.1/",
    "https://127.8.9.10:8443/hook",
    "https://10.0.0.1/",
    "https://10.255.255.255/",
    "https://172.16.0.1/",
    "https://172.31.255.254/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/",
    "https://169.254.1.1/",
    "https://100.64.0.1/",
    "https://100.100.100.200/latest/meta-data/",  # Alibaba Cloud's metadata service
    "https://0.0.0.0/",
    "https://224.0.0.1/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://192.0.2.10/",  # documentation
    "https://[::1]/",
    "https://[::]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "https://[fe80::1]/",
    "https://[fec0::1]/",
    "https://[ff02::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:192.168.0.1]/",
    "https://[::ffff:169.254.169.254]/",
    "https://[::127.0.0.1]/",  # IPv4-compatible
    "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "https://2130706433/",
    "https://0x7f000001/",
    "https://017700000001/",
    "https://0177.0.0.1/",
    "https://0x7f.0.0.1/",
    "https://127.1/",
    "https://127.0.1/",
    "https://0/",
    "https://0x0a000001/",
    "https://167772161/",  # 10.0.0.1
    "https://2852039166/",  # 169.254.169.254
    "https://127.0.0.1./",
]
# The same spellings over http, refused for the address even where http itself is allowed.
UNSAFE_HTTP_LITERALS = [
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://[::1]:8080/",
    "http://169.254.169.254/latest/meta-data/iam/",
]
# Names that resolve to special addresses (through the fake DNS), including one bad address among good ones.
UNSAFE_NAMES: dict[str, list[str]] = {
    "intranet.example.test": ["10.1.2.3"],
    "office.example.test": ["172.20.0.5"],
    "router.example.test": ["192.168.0.1"],
    "metadata.example.test": ["169.254.169.254"],
    "cgnat.example.test": ["100.64.12.34"],
    "loopback.example.test": ["127.0.0.1"],
    "v6loopback.example.test": ["::1"],
    "ula.example.test": ["fd00::1"],
    "linklocal6.example.test": ["fe80::1"],
    "mapped.example.test": ["::ffff:10.0.0.1"],
    "zero.example.test": [UNSPECIFIED],
    "multicast.example.test": ["239.1.1.1"],
    "mixed.example.test": [PUBLIC_V4, "10.0.0.1"],
    "mixed6.example.test": [PUBLIC_V6, "::1"],
}
UNSAFE_NAME_URLS = [f"https://{name}/hook" for name in UNSAFE_NAMES]
NOT_URLS_WE_CALL = [
    ("http://hooks.example.test/", "https"),
    ("ftp://hooks.example.test/", "https"),
    ("file:///etc/passwd", "https"),
    ("gopher://hooks.example.test/", "https"),
    ("javascript:alert(1)", "https"),
    ("hooks.example.test/hook", "https"),
    ("//hooks.example.test/hook", "https"),
    ("https:///hook", "host"),
    ("https://user:password@hooks.example.test/", "user"),
    ("https://user@hooks.example.test/", "user"),
    ("https://@hooks.example.test/", "user"),
    ("https://hooks.example.test@127.0.0.1/", "user"),
    ("https://hooks.example.test:0/", "port"),
    ("https://hooks.example.test:99999/", "port"),
    ("https://hooks.example.test:http/", "port"),
    ("https://hooks.example.test/#fragment", "fragment"),
    ("https://hooks.example.test/ hook", "ASCII"),
    ("https://hooks.example.test/\nhook", "ASCII"),
    ("https://hooks.example.test/\thook", "ASCII"),
    ("https://例子.中国/hook", "ASCII"),
    ("https://[fe80::1%25eth0]/", "zone"),
    ("https://[::1/", "not a valid URL"),
    ("https://nowhere.example.test/", "does not resolve"),
]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    fake.set("hooks.example.test", [PUBLIC_V4])
    fake.set("dual.example.test", [PUBLIC_V4, PUBLIC_V6])
    for name, addresses in UNSAFE_NAMES.items():
        fake.set(name, addresses)
    return fake


@pytest.fixture
def admin(make_account, auth) -> dict[str, str]:
    return auth(make_account("admin"))


@pytest.fixture
def allow_http(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_HTTP", True)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every outgoing connection attempted (none is made: any attempt is recorded and refused)."""
    attempts: list[Any] = []

    def refuse(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError("no network in tests")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def save(client, admin, url: str):
    return client.post(URL, json={"url": url, "events": ["ticket.created"]}, headers=admin)


def refused_at_save(client, admin, url: str) -> str:
    """The reason given on `url` for a 422."""
    details = assert_error(save(client, admin, url), 422, "validation_error")["details"]
    assert list(details) == ["url"]
    return details["url"][0]


# --- refused when saved --------------------------------------------------------------------------


@pytest.mark.parametrize("url", UNSAFE_LITERALS)
def test_an_address_that_is_not_public_is_refused_when_saved(client, admin, dns, url):
    reason = refused_at_save(client, admin, url)
    assert "https" not in reason  # refused for the address, not the scheme


@pytest.mark.parametrize("url", UNSAFE_HTTP_LITERALS)
def test_http_to_an_address_that_is_not_public_is_refused_even_where_http_is_allowed(
    client, admin, dns, allow_http, url
):
    assert "https" not in refused_at_save(client, admin, url)


@pytest.mark.parametrize("url", UNSAFE_NAME_URLS)
def test_a_name_resolving_to_any_address_that_is_not_public_is_refused_when_saved(client, admin, dns, url):
    reason = refused_at_save(client, admin, url)
    assert "resolves to" in reason


@pytest.mark.parametrize(("url", "reason"), NOT_URLS_WE_CALL)
def test_a_url_the_service_would_not_call_is_refused_with_the_reason(client, admin, dns, url, reason):
    assert reason in refused_at_save(client, admin, url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/", "loopback"),
        ("https://10.0.0.1/", "private"),
        ("https://169.254.169.254/", "metadata"),
        ("https://169.254.1.1/", "link-local"),
        ("https://100.64.0.1/", "carrier-grade NAT"),
        ("https://224.0.0.1/", "multicast"),
        ("https://[::ffff:127.0.0.1]/", "carries the IPv4 address 127.0.0.1"),
        ("https://2130706433/", "four decimal numbers"),
        ("https://metadata.example.test/hook", "metadata.example.test resolves to 169.254.169.254"),
    ],
)
def test_the_refusal_names_what_is_wrong(client, admin, dns, url, reason):
    assert reason in refused_at_save(client, admin, url)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.test/grid",
        "https://hooks.example.test:8443/grid?token=abc",
        "https://HOOKS.example.test./grid",
        "https://dual.example.test/",
        f"https://{PUBLIC_V4}/hook",
        f"https://[{PUBLIC_V6}]/hook",
    ],
)
def test_an_https_url_on_public_addresses_is_saved(client, admin, dns, url):
    response = save(client, admin, url)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["url"] == url


def test_http_is_refused_unless_the_setting_allows_it(app, client, admin, dns, monkeypatch):
    assert "https" in refused_at_save(client, admin, "http://hooks.example.test/hook")
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_HTTP", True)
    assert save(client, admin, "http://hooks.example.test/hook").status_code == 201


def test_a_change_of_url_is_vetted_like_a_new_one(client, admin, dns):
    webhook = save(client, admin, "https://hooks.example.test/").json
    response = client.patch(f"{URL}/{webhook['id']}", json={"url": "https://intranet.example.test/"}, headers=admin)
    assert "url" in assert_error(response, 422, "validation_error")["details"]
    assert client.get(f"{URL}/{webhook['id']}", headers=admin).json["url"] == "https://hooks.example.test/"


def test_loopback_is_refused_by_default_even_with_a_receiver_listening_there(app, client, admin, allow_http):
    receiver = start_receiver()
    try:
        assert "loopback" in refused_at_save(client, admin, receiver.url())
        assert owe_and_deliver(app, receiver.url()).outcome is Outcome.REJECTED
        assert receiver.requests == []
    finally:
        stop_receiver(receiver)


def test_the_test_networks_exempt_only_themselves(app, client, admin, dns, allow_http, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOWED_TEST_NETWORKS", ["127.0.0.0/8"])
    assert save(client, admin, "http://127.0.0.1:9/hook").status_code == 201
    assert "private" in refused_at_save(client, admin, "http://10.0.0.1/hook")
    assert "loopback" in refused_at_save(client, admin, "http://[::1]/hook")


# --- refused at send time --------------------------------------------------------------------------


@pytest.mark.parametrize("url", UNSAFE_LITERALS + UNSAFE_HTTP_LITERALS + UNSAFE_NAME_URLS)
def test_a_stored_url_that_is_not_public_is_refused_at_send_time_and_nothing_is_sent(
    app, dns, allow_http, connections, url
):
    result = owe_and_deliver(app, url)
    assert result.outcome is Outcome.REJECTED
    assert "SSRF guard" in (result.error or "")
    assert connections == []


def test_an_http_url_is_refused_at_send_time_once_http_is_no_longer_allowed(app, dns, connections):
    result = owe_and_deliver(app, "http://hooks.example.test/hook")
    assert result.outcome is Outcome.REJECTED
    assert "https" in (result.error or "")
    assert connections == []


def test_a_host_that_turned_private_after_it_was_saved_is_refused_and_nothing_is_sent(
    app, client, admin, dns, connections
):
    dns.set("rebind.example.test", [PUBLIC_V4], ["10.0.0.7"])  # public when saved, private at send time
    assert save(client, admin, "https://rebind.example.test/hook").status_code == 201
    (notification_id,) = owe(app, "ticket.created")
    result = deliver(app, notification_id)
    assert result.outcome is Outcome.REJECTED
    assert "rebind.example.test resolves to 10.0.0.7" in (result.error or "")
    assert connections == []


def test_a_host_rebound_to_a_listening_loopback_receiver_gets_nothing(app, client, admin, dns, allow_http):
    receiver = start_receiver()
    try:
        dns.set("rebind.example.test", [PUBLIC_V4], ["127.0.0.1"])
        assert save(client, admin, f"http://rebind.example.test:{receiver.port}/hook").status_code == 201
        (notification_id,) = owe(app, "ticket.created")
        assert deliver(app, notification_id).outcome is Outcome.REJECTED
        assert receiver.requests == []
    finally:
        stop_receiver(receiver)


def test_the_connection_goes_to_the_address_vetted_at_send_time_not_a_new_lookup(app, dns, allow_http, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOWED_TEST_NETWORKS", ["127.0.0.0/8"])
    receiver = start_receiver()
    try:
        # The vetted answer leads to the receiver; a second lookup would lead to an address that answers nothing.
        dns.set("pinned.example.test", ["127.0.0.1"], ["10.255.255.1"])
        result = owe_and_deliver(app, f"http://pinned.example.test:{receiver.port}/hook")
        assert result.outcome is Outcome.SENT
        assert dns.lookups == ["pinned.example.test"]
        (request,) = receiver.requests
        assert request.headers["host"] == f"pinned.example.test:{receiver.port}"
    finally:
        stop_receiver(receiver)


def test_a_host_that_stopped_resolving_is_retried_later(app, dns, connections):
    result = owe_and_deliver(app, "https://nowhere.example.test/hook")
    assert result.outcome is Outcome.RETRY
    assert "does not resolve" in (result.error or "")
    assert connections == []


# --- the guard as a function -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (UNSPECIFIED, "unspecified"),
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("169.254.0.23", "metadata"),
        ("169.254.10.10", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("198.18.0.1", "not a public address"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "127.0.0.1, which is a loopback address"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254, which is a cloud metadata address"),
        ("2001:db8::1", "not a public address"),
    ],
)
def test_each_kind_of_special_address_is_refused_with_its_name(address, reason):
    assert reason in (refusal_reason(ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("address", [PUBLIC_V4, "1.1.1.1", "114.114.114.114", PUBLIC_V6, "::ffff:8.8.8.8"])
def test_public_unicast_addresses_pass(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_an_exempt_network_passes_only_its_own_addresses():
    exempt = [ipaddress.ip_network("127.0.0.0/8")]
    assert refusal_reason(ipaddress.ip_address("127.0.0.1"), exempt) is None
    assert refusal_reason(ipaddress.ip_address("10.0.0.1"), exempt) == "is a private address"


def test_vet_url_gives_the_target_with_every_resolved_address(dns):
    target = vet_url("https://dual.example.test:8443/a/b?c=d", allow_http=False)
    assert (target.scheme, target.host, target.port, target.request_path) == (
        "https",
        "dual.example.test",
        8443,
        "/a/b?c=d",
    )
    assert target.addresses == (PUBLIC_V4, PUBLIC_V6)


def test_vet_url_refuses_http_unless_allowed(dns):
    with pytest.raises(UnsafeUrlError, match="https"):
        vet_url("http://hooks.example.test/", allow_http=False)
    assert vet_url("http://hooks.example.test/", allow_http=True).port == 80


# --- partners on a government intranet (WEBHOOKS_ALLOWED_NETWORKS) ---------------------------------

PARTNER_NETWORK = "10.32.0.0/16"
OWN_ADDRESS = "10.32.0.5"
# Refused whatever the allowed networks say, even when they claim everything.
STILL_REFUSED = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://100.100.100.200/latest/meta-data/", "cloud metadata"),
    ("https://[fd00:ec2::254]/", "cloud metadata"),
    ("https://169.254.1.1/hook", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    (f"https://{OWN_ADDRESS}/hook", "this deployment's own addresses"),
    (f"https://[::ffff:{OWN_ADDRESS}]/hook", "this deployment's own addresses"),
]


@pytest.fixture
def partners(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The city platform's network allowed; this machine has an address inside it."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOWED_NETWORKS", [PARTNER_NETWORK])
    monkeypatch.setattr(
        webhooks_service, "own_addresses", lambda: frozenset({ipaddress.ip_address(OWN_ADDRESS), *LOOPBACK})
    )


LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def test_a_private_address_in_an_allowed_network_is_saved(client, admin, dns, partners):
    dns.set("city-12345.example.test", ["10.32.7.20"])
    assert save(client, admin, "https://10.32.7.20/hook").status_code == 201
    assert save(client, admin, "https://city-12345.example.test/hook").status_code == 201


def test_a_private_address_outside_the_allowed_networks_is_still_refused(client, admin, dns, partners):
    assert "is a private address" in refused_at_save(client, admin, "https://10.33.0.1/hook")
    assert "is a private address" in refused_at_save(client, admin, "https://192.168.1.1/hook")
    dns.set("mixed.example.test", ["10.32.7.20", "10.99.0.1"])
    assert "10.99.0.1" in refused_at_save(client, admin, "https://mixed.example.test/hook")


def test_without_allowed_networks_an_intranet_address_is_refused(client, admin, dns):
    assert "is a private address" in refused_at_save(client, admin, "https://10.32.7.20/hook")


@pytest.mark.parametrize(("url", "reason"), STILL_REFUSED)
def test_loopback_link_local_metadata_and_own_addresses_stay_refused_whatever_is_allowed(
    app, client, admin, dns, partners, monkeypatch, url, reason
):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOWED_NETWORKS", ["0.0.0.0/0", "::/0"])
    assert reason in refused_at_save(client, admin, url)


def test_a_name_that_turns_into_this_machine_after_saving_is_refused_at_send_time(app, dns, partners, connections):
    dns.set("city-12345.example.test", [OWN_ADDRESS])
    result = owe_and_deliver(app, "https://city-12345.example.test/hook")
    assert result.outcome is Outcome.REJECTED
    assert "own addresses" in (result.error or "")
    assert connections == []


def test_a_delivery_to_an_allowed_partner_goes_to_its_private_address(app, dns, partners, connections):
    dns.set("city-12345.example.test", ["10.32.7.20"])
    result = owe_and_deliver(app, "https://city-12345.example.test/hook")
    assert result.outcome is Outcome.RETRY  # the attempt was made (and refused by the test's network)
    assert connections == [("10.32.7.20", 443)]


def test_the_deployments_own_addresses_include_its_interfaces(app):
    with app.app_context():
        assert ipaddress.ip_address("127.0.0.1") in webhooks_service.own_addresses()


def test_allowed_networks_are_read_as_cidrs_and_a_typo_stops_the_start():
    keys = {"SECRET_KEY": "s", "JWT_SECRET_KEY": "j"}
    settings = load_settings({**keys, "WEBHOOKS_ALLOWED_NETWORKS": "10.32.0.0/16, 172.20.0.0/14 fd10::/16"})
    assert settings["WEBHOOKS_ALLOWED_NETWORKS"] == ["10.32.0.0/16", "172.20.0.0/14", "fd10::/16"]
    assert load_settings(keys)["WEBHOOKS_ALLOWED_NETWORKS"] == []
    with pytest.raises(ValueError, match=r"10\.32\.0\.1/16"):
        load_settings({**keys, "WEBHOOKS_ALLOWED_NETWORKS": "10.32.0.1/16"})
    with pytest.raises(ValueError, match="WEBHOOKS_CA_BUNDLE"):
        load_settings({**keys, "WEBHOOKS_CA_BUNDLE": "/nonexistent/ca.pem"})


@pytest.mark.parametrize(
    ("address", "allowed"),
    [("10.32.1.1", True), ("100.64.3.4", True), ("10.31.1.1", False), ("169.254.169.254", False), ("127.0.0.1", False)],
)
def test_a_partner_network_lets_only_its_private_addresses_through(address, allowed):
    partners_ = [ipaddress.ip_network(n) for n in ("10.32.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8")]
    reason = refusal_reason(ipaddress.ip_address(address), partner_networks=partners_)
    assert (reason is None) is allowed
