"""The client's network address, as every per-address limit sees it.

``X-Forwarded-For`` is written by whoever sent the request, so it is believed only
as far as ``settings.TRUSTED_PROXIES`` says:

- empty (the default): the header is ignored and the address is ``REMOTE_ADDR``,
  the peer of the TCP connection, which a client cannot choose;
- one number ``n`` (``["1"]``): ``n`` proxies of ours stand in front of MakrX, each
  appending the address it saw, so the client is the ``n``-th entry from the right
  (the address the outermost of our proxies saw);
- proxy networks in CIDR (``["10.0.0.0/8", "192.168.1.5/32"]``): the header is
  believed only when ``REMOTE_ADDR`` is inside one of them; it is then read from
  the right, passing over addresses of our proxies, and the first address outside
  them is the client. Entries further left were written by the client and are
  never looked at.

A header that does not fit (fewer entries than proxies, an entry that is not an
address) never lets a client pick its address: the answer falls back to the
nearest hop of ours, ``REMOTE_ADDR`` or the last proxy address read.
"""

import functools
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from rest_framework.request import Request

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# A number of proxy hops, or the networks our proxies live in; None trusts no header.
ProxyTrust = int | tuple[IPNetwork, ...] | None


def client_address(request: HttpRequest | Request) -> str:
    """The address a request comes from, believing ``X-Forwarded-For`` only as configured."""
    meta = request.META
    remote_addr = str(meta.get("REMOTE_ADDR") or "").strip()
    trust = trusted_proxies()
    if trust is None:
        return _normalised(remote_addr)
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [entry.strip() for entry in forwarded.split(",")] if forwarded.strip() else []
    if isinstance(trust, int):
        return _by_hop_count(remote_addr, hops, trust)
    return _by_proxy_networks(remote_addr, hops, trust)


def trusted_proxies() -> ProxyTrust:
    """``settings.TRUSTED_PROXIES``, parsed and checked (ImproperlyConfigured when wrong)."""
    configured = settings.TRUSTED_PROXIES
    if isinstance(configured, int):
        configured = [configured]
    elif isinstance(configured, str):
        configured = configured.split(",")
    return _parse_trusted_proxies(tuple(str(entry).strip() for entry in configured))


@functools.lru_cache(maxsize=16)
def _parse_trusted_proxies(entries: tuple[str, ...]) -> ProxyTrust:
    entries = tuple(entry for entry in entries if entry)
    if not entries:
        return None
    if any(entry.lstrip("+-").isdigit() for entry in entries):
        if len(entries) != 1:
            raise ImproperlyConfigured(
                "TRUSTED_PROXIES is either one number of proxy hops (e.g. 1) or a list of "
                f"proxy networks in CIDR (e.g. 10.0.0.0/8), not both: got {list(entries)}."
            )
        hops = int(entries[0])
        if hops < 0:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES must be a number of proxy hops of 0 or more: got {hops}."
            )
        return hops or None
    return tuple(_proxy_network(entry) for entry in entries)


def _proxy_network(entry: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(entry)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES entry {entry!r} is not a proxy network in CIDR such as "
            f"10.0.0.0/8 or 192.168.1.5/32 ({exc})."
        ) from None


def _by_hop_count(remote_addr: str, hops: list[str], count: int) -> str:
    # Fewer entries than proxies: the request did not come through all of them, so
    # the header may be the client's own.
    if len(hops) < count:
        return _normalised(remote_addr)
    address = _parse_address(hops[-count])
    return str(address) if address is not None else _normalised(remote_addr)


def _by_proxy_networks(remote_addr: str, hops: list[str], networks: Iterable[IPNetwork]) -> str:
    nearest = _parse_address(remote_addr)
    if nearest is None or not _is_proxy(nearest, networks):
        # Only our own proxies may speak for the client.
        return _normalised(remote_addr)
    for entry in reversed(hops):
        address = _parse_address(entry)
        if address is None:
            # The hop before our proxy cannot be read: keep the proxy's address
            # rather than anything the client could have written.
            return str(nearest)
        if not _is_proxy(address, networks):
            return str(address)
        nearest = address
    # Every hop is one of our proxies: the left-most is where the request began.
    return str(nearest)


def _is_proxy(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def _parse_address(text: str) -> IPAddress | None:
    """An address from a header entry or REMOTE_ADDR; None when it is not one.

    Accepts ``203.0.113.7``, ``2001:db8::1``, and with a port ``203.0.113.7:4711`` or
    ``[2001:db8::1]:4711``, as some proxies write them. An IPv4 address mapped into
    IPv6 (a dual-stack socket's ``::ffff:203.0.113.7``) is the IPv4 address, and an
    IPv6 zone (``fe80::1%eth0``) is dropped, so one client has one address however
    it is written.
    """
    text = text.strip()
    if len(text) > 64:
        return None
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    text = text.partition("%")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _normalised(text: str) -> str:
    address = _parse_address(text)
    return str(address) if address is not None else text
