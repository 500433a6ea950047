"""The SSRF guard of webhooks out: which URLs may be called, and at which addresses. No Flask, no database.

`vet_url`: https only (http when the caller allows it, for development), no user info, no fragment, printable
ASCII only; the host is resolved and *every* address must be public unicast: loopback, private, link-local (cloud
metadata included), carrier-grade NAT, unspecified, multicast, reserved and other special-purpose ranges are
refused, IPv6 ones too and IPv4 addresses carried inside IPv6 (mapped, compatible, NAT64, 6to4); IPv4 written
otherwise than as four decimal numbers (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`) is refused outright.
The guard runs when a webhook is saved and again before every attempt (DNS can change in between, on purpose or
not), and the attempt connects to the addresses it just vetted instead of resolving again (`Target.addresses`),
while the `Host` header and TLS (SNI and certificate verification) still use the URL's host name. Only tests may
exempt networks from the address rules (`WEBHOOKS_ALLOWED_TEST_NETWORKS`, never read from the environment), to
reach a local receiver.

A deployment on a government intranet (政务外网) allows its partners' ranges (`partner_networks`, from
`WEBHOOKS_ALLOWED_NETWORKS`): an address inside one passes although it is private, carrier-grade NAT or otherwise
not public, but never when it is unspecified, loopback, link-local, cloud metadata, multicast or one of the
deployment's own addresses (`own_addresses`), whatever the allowed ranges say.
"""

import ipaddress
import re
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeUrlError(Exception):
    """The URL may not be called: wrong scheme, user info, or a host that is not a public address."""


class UnresolvableHostError(Exception):
    """The host name did not resolve (a typo at save time; maybe a passing DNS failure at send time)."""


@dataclass(frozen=True)
class Target:
    """A vetted URL: connect to `addresses` (in order), but speak to `host` in `Host` and TLS."""

    scheme: str
    host: str  # the URL's host name or address, lower-case, without IPv6 brackets
    port: int
    request_path: str  # path and query, as sent on the request line
    addresses: tuple[str, ...]  # every address the host resolved to, each one vetted


_PRIVATE: Final = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")
)
_SHARED: Final = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Aliyun's metadata lives here
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
# Cloud instance metadata: AWS, GCP, Azure, OpenStack (IPv4 and AWS's IPv6); Alibaba Cloud.
_METADATA: Final = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.0.23")
)
# Refused whatever WEBHOOKS_ALLOWED_NETWORKS says: what would reach this machine, its cloud or its link.
_ALWAYS_REFUSED: Final = frozenset(
    {
        "is the unspecified address",
        "is a loopback address",
        "is a cloud metadata address",
        "is a link-local address",
        "is a multicast address",
    }
)
OWN_ADDRESS: Final = "is one of this deployment's own addresses"
# (why, test) in order; the first that matches names the refusal.
_REFUSED_CLASSES: Final = (
    ("is the unspecified address", lambda a: a.is_unspecified),
    ("is a loopback address", lambda a: a.is_loopback),
    ("is a cloud metadata address", lambda a: a in _METADATA),
    ("is a link-local address", lambda a: a.is_link_local),
    ("is a private address", lambda a: any(a in network for network in _PRIVATE)),
    ("is a carrier-grade NAT address (100.64.0.0/10)", lambda a: a in _SHARED),
    ("is a multicast address", lambda a: a.is_multicast),
    ("is a reserved address", lambda a: a.is_reserved),
    ("is not a public address", lambda a: not a.is_global),
)
# The WHATWG URL rule: a host whose last label is a number is an IPv4 address (127.1, 0x7f000001, 017700000001).
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9a-fA-F]*)")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


def vet_url(
    url: str,
    *,
    allow_http: bool,
    allowed_networks: Sequence[IPNetwork] = (),
    partner_networks: Sequence[IPNetwork] = (),
    own_addresses: Collection[IPAddress] = (),
) -> Target:
    """The URL's target once every address its host resolves to is public; UnsafeUrlError otherwise.

    `allowed_networks` exempts addresses from the address rules (tests' local receivers only);
    `partner_networks` lets private and other non-public addresses in them pass, but none of `_ALWAYS_REFUSED`
    and none of `own_addresses`.
    """
    scheme, host, port, request_path = _parse(url, allow_http=allow_http)
    literal = _literal(host)
    addresses = [literal] if literal is not None else _resolve(host, port)
    for address in addresses:
        reason = refusal_reason(address, allowed_networks, partner_networks, own_addresses)
        if reason is not None:
            subject = str(address) if literal is not None else f"{host} resolves to {address}, which"
            raise UnsafeUrlError(f"{subject} {reason}")
    return Target(scheme, host, port, request_path, tuple(str(address) for address in addresses))


def refusal_reason(
    address: IPAddress,
    allowed_networks: Sequence[IPNetwork] = (),
    partner_networks: Sequence[IPNetwork] = (),
    own_addresses: Collection[IPAddress] = (),
) -> str | None:
    """Why a connection to `address` is refused ("is a loopback address"), or None for a public unicast one
    or one in a partner network that is none of the always refused kinds nor this deployment's own."""
    if _within(address, allowed_networks):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal_reason(embedded, allowed_networks, partner_networks, own_addresses)
            if inner is not None:
                return f"carries the IPv4 address {embedded}, which {inner}"
            if address.ipv4_mapped is not None:
                return None  # the connection goes to the (public) IPv4 address itself
    for reason, applies in _REFUSED_CLASSES:
        if applies(address):
            if reason in _ALWAYS_REFUSED or not _within(address, partner_networks):
                return reason
            break
    return OWN_ADDRESS if address in own_addresses else None


def _within(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: mapped, compatible (::a.b.c.d), NAT64 or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (int(address) >> 32 == 0 and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _parse(url: str, *, allow_http: bool) -> tuple[str, str, int, str]:
    if not _PRINTABLE_ASCII.fullmatch(url):
        raise UnsafeUrlError(
            "must be printable ASCII without spaces (percent-encode the path, use the xn-- form of the host)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a malformed [IPv6] host or a port that is no number in 0-65535
        raise UnsafeUrlError("is not a valid URL (check the host and the port)") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeUrlError("must be an https:// URL" if not allow_http else "must be an https:// or http:// URL")
    if "@" in parts.netloc:
        raise UnsafeUrlError("must not carry a user name or password")
    if parts.fragment or url.endswith("#"):
        raise UnsafeUrlError("must not have a #fragment (it is never sent)")
    host = parts.hostname or ""
    if not host:
        raise UnsafeUrlError("must name a host")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    elif port == 0:
        raise UnsafeUrlError("has an invalid port")
    request_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port, request_path


def _literal(host: str) -> IPAddress | None:
    """The address a host names literally; UnsafeUrlError for IPv4 spelt otherwise than a.b.c.d."""
    if ":" in host:  # only IPv6 literals have colons in a hostname
        if "%" in host:
            raise UnsafeUrlError("must not use an IPv6 zone id")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeUrlError("has an invalid IPv6 address") from None
    name = host.removesuffix(".")
    if _NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        try:
            return ipaddress.IPv4Address(name)  # strict: four decimal numbers, no leading zeros
        except ValueError:
            raise UnsafeUrlError("writes an IPv4 address in a form other than four decimal numbers (a.b.c.d)") from None
    return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableHostError(f"{host} does not resolve") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnresolvableHostError(f"{host} does not resolve")
    return addresses
