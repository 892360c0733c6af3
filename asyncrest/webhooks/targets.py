"""Where a webhook may go: http(s) URLs that resolve only to public addresses.

Loopback, private, link-local (cloud metadata at 169.254.169.254), multicast and
reserved addresses are refused when the order is placed and again before every
attempt, since DNS can change in between; the request then goes to the address that
was checked, so a second lookup cannot point it elsewhere. Hosts in
`WEBHOOK_ALLOWED_HOSTS` are exempt.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from .. import conf

Resolver = Callable[[str, int], list[str]]


class CallbackRefused(ValueError):
    """The callback URL may not be called; the message says why, for the client."""


def resolve(host: str, port: int) -> list[str]:
    """Return every address `host` resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # UnicodeError: not a host name at all (an empty label, one over 63 characters).
        raise CallbackRefused(f"The host {host!r} cannot be resolved.") from exc
    return sorted({info[4][0] for info in infos})


def check_callback_url(url: str, resolver: Resolver = resolve) -> tuple[str, int, str]:
    """Return (host, port, address to connect to) for `url`, or raise `CallbackRefused`."""
    if any(character.isspace() or not character.isprintable() for character in url):
        # A line break in the URL would end up in the request's first line: header injection.
        raise CallbackRefused("The callback URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "http://[::1": an unclosed IPv6 address
        raise CallbackRefused("The callback URL is not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise CallbackRefused("The callback URL must start with http:// or https://.")
    if not parts.hostname:
        raise CallbackRefused("The callback URL has no host.")
    if parts.username or parts.password:
        raise CallbackRefused("The callback URL may not carry a user name or password.")
    host = parts.hostname.lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise CallbackRefused("The callback URL has an invalid port.") from exc
    addresses = resolver(host, port)
    if not addresses:
        raise CallbackRefused(f"The host {host!r} cannot be resolved.")
    if host in {h.lower() for h in conf.get("WEBHOOK_ALLOWED_HOSTS")}:
        return host, port, addresses[0]
    for address in addresses:
        kind = non_public_kind(ipaddress.ip_address(address.split("%")[0]))
        if kind:
            raise CallbackRefused(
                f"The callback host {host!r} resolves to {address}, {'an' if kind[0] in 'aeiou' else 'a'} {kind} address; "
                "callbacks go to public addresses only."
            )
    return host, port, addresses[0]


def non_public_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Name what makes `address` not a public one (empty if it is public)."""
    if getattr(address, "ipv4_mapped", None):
        return non_public_kind(address.ipv4_mapped)
    for kind, flag in [
        ("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
        ("reserved", address.is_reserved), ("private", address.is_private),
    ]:
        if flag:
            return kind
    return "" if address.is_global else "non-public"
