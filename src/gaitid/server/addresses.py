"""Where a live source of the server (POST /api/sources) may connect: the schemes cameras use, and which hosts.

Schemes: rtsp, rtsps, http and https (MJPEG, or a single-stream container); never tcp://, udp://, rtmp://,
files or FFmpeg's compound protocols. Hosts: with the operator's list (`gaitid serve --allow-source-hosts`),
only the names, addresses and networks listed; without it, any host except those of this machine and the
ones no camera has: loopback, link-local (169.254.0.0/16, where cloud machines serve their metadata),
unspecified, multicast and reserved addresses. A name is resolved, and every address it has must pass.
Private networks (192.168.x.x, 10.x.x.x, ...) are allowed: cameras live there.

The address given is what is checked: FFmpeg resolves the name again when it connects, so the list is a
policy for honest clients and a limit to guessing, not a firewall. HLS playlists (whose segments may be
anywhere) are read only from hosts the operator listed; redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from gaitid.errors import GaitidError, InputError
from gaitid.sources import redact_url

SCHEMES = ("rtsp", "rtsps", "http", "https")
SCHEME_LIST = "rtsp://, rtsps://, http:// and https://"
# FFmpeg's demuxers of what cameras stream (the RTSP session, MJPEG over HTTP, single-stream containers).
STREAM_FORMATS = ("rtsp", "mpjpeg", "mjpeg", "jpeg_pipe", "mpegts", "mov", "matroska", "flv", "h264", "hevc")
PLAYLIST_FORMATS = ("hls",)
_HOST = re.compile(r"[a-z0-9]([a-z0-9_.-]*[a-z0-9])?|[0-9a-f:.]+")
_OPTION = "--allow-source-hosts"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SourceRefused(InputError):
    """The address is not one this server connects to (refused before any connection is made)."""


class SourcePolicy:
    """The schemes and hosts allowed; `allowed_hosts`: the operator's list (empty: the default rule)."""

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self.names: frozenset[str] = frozenset()
        self.networks: tuple[IPNetwork, ...] = ()
        entries = [e.strip() for e in allowed_hosts if e.strip()]
        names, networks = set(), []
        for entry in entries:
            network = _network(entry)
            if network is not None:
                networks.append(network)
            elif _HOST.fullmatch(_name(entry)):
                names.add(_name(entry))
            else:
                raise GaitidError(f"{_OPTION}: {entry!r} is not a host name, an address or a network (a.b.c.d/n)")
        self.names, self.networks = frozenset(names), tuple(networks)
        self.restricted = bool(entries)

    @property
    def formats(self) -> tuple[str, ...]:
        """The demuxers a stream may be read with: playlists only from hosts the operator listed."""
        return STREAM_FORMATS + PLAYLIST_FORMATS if self.restricted else STREAM_FORMATS

    def check(self, url: str) -> None:
        """SourceRefused (at once, no connection made) unless `url` may be opened; InputError when its host
        name does not resolve."""
        host = self.host(url)
        address = _address(host)
        if address is not None:
            self._check_addresses(url, host, [address])
        elif host in self.names:
            return
        elif self.restricted and not self.networks:
            raise self._not_listed(url, host)
        else:
            try:
                addresses = _resolve(url, host)
            except InputError:
                if self.restricted:  # cannot be shown to be in a listed network
                    raise self._not_listed(url, host) from None
                raise
            self._check_addresses(url, host, addresses)

    def host(self, url: str) -> str:
        """The host of a URL in one of SCHEMES (lower case, no brackets); SourceRefused for anything else."""
        shown = redact_url(url)[:200]
        if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
            raise SourceRefused(
                f"{shown!r}: not a stream URL the server opens ({SCHEME_LIST}, with no spaces, control characters "
                "or non-ASCII)"
            )
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises ValueError for a port out of range)
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in SCHEMES or not parts.hostname:
            raise SourceRefused(f"{shown}: the server opens {SCHEME_LIST} streams only (or a camera index)")
        host = _name(parts.hostname)
        if not _HOST.fullmatch(host):
            raise SourceRefused(f"{shown}: {host!r} is not a host name or address")
        return host

    def _check_addresses(self, url: str, host: str, addresses: list[IPAddress]) -> None:
        if self.restricted:
            allowed = bool(self.networks) and all(any(a in n for n in self.networks) for a in addresses)
            if not allowed:
                raise self._not_listed(url, host)
        elif any(_is_local(a) for a in addresses):
            raise SourceRefused(
                f"{redact_url(url)}: {host} is a loopback, link-local or other local address; the server connects "
                f"there only when the operator lists it with {_OPTION}"
            )


    def _not_listed(self, url: str, host: str) -> SourceRefused:
        return SourceRefused(f"{redact_url(url)}: {host} is not among the hosts this server connects to ({_OPTION})")


def _name(host: str) -> str:
    return host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")


def _network(entry: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(_name(entry), strict=False)
    except ValueError:
        return None


def _address(host: str) -> IPAddress | None:
    try:
        return _plain(ipaddress.ip_address(host))
    except ValueError:
        return None


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4 address written as IPv6 (::ffff:127.0.0.1) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _resolve(url: str, host: str) -> list[IPAddress]:
    """Every address of `host` (names, and the other spellings of addresses that FFmpeg takes: 127.1,
    2130706433, 0x7f.0.0.1)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InputError(f"{redact_url(url)}: the host name does not resolve") from None
    return [_plain(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos]


def _is_local(address: IPAddress) -> bool:
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
    )
