"""Who may drive the host: the Origin and Host checks of the management API and dashboard.

A web page on another site can make the user's browser send requests to
``127.0.0.1:7071``; a DNS-rebinding page can even read the answers. So the
host refuses, with a 403 and a message saying why:

* any management or dashboard request whose ``Host`` header names something other
  than the address the host is bound to, a loopback name, or a name allowed with
  ``--allow-host`` (a rebinding attack comes in under the attacker's domain name);
* any *mutating* request (not GET/HEAD/OPTIONS) that a browser marks as coming
  from another origin: an ``Origin`` other than the host's own, ``Origin: null``,
  or ``Sec-Fetch-Site`` other than ``same-origin``/``none``.

Clients that are not browsers send no ``Origin`` (curl, the SDK's client, the
Functions runtime's webhooks), so they keep working unchanged.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
_BROWSER_OK_SITES = frozenset({"same-origin", "none"})


def _host_name(value: str) -> str:
    """The host part of a ``Host`` header value (``[::1]:7071`` → ``::1``), lower-cased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


def _is_ip(name: str) -> bool:
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(name) is not None
    return False


@dataclass(frozen=True, slots=True)
class OriginGuard:
    """The checks for a host bound to ``bound`` (an address or a name)."""

    bound: str
    allowed: frozenset[str] = frozenset()
    """More host names to accept (``durable start --allow-host``)."""

    @classmethod
    def for_address(cls, bound: str, allowed: Iterable[str] = ()) -> OriginGuard:
        """A guard for ``durable start --host <bound>``."""
        names = {_host_name(name) for name in allowed if name.strip()}
        if bound in _WILDCARDS:
            # Bound to every interface: the machine's own name is a legitimate way in.
            names.add(socket.gethostname().lower())
        return cls(_host_name(bound), frozenset(names))

    def host_allowed(self, host_header: str) -> bool:
        """Whether ``Host`` names this host (not a rebinding attacker's domain)."""
        name = _host_name(host_header)
        if name in LOOPBACK_NAMES or name == self.bound or name in self.allowed:
            return True
        # Bound to every interface: any address literal reaches us legitimately,
        # and a rebinding attack always comes in under a domain name.
        return self.bound in _WILDCARDS and _is_ip(name)

    def refusal(self, method: str, headers: Mapping[str, str]) -> str | None:
        """Why this request is refused (a 403), or None; header names are lower-cased."""
        host = headers.get("host")
        if host is not None and not self.host_allowed(host):
            return (
                f"Refused: the Host header {host!r} does not name this host "
                f"(a DNS-rebinding page?). Use http://127.0.0.1 or http://localhost, "
                f"or allow the name with `durable start --allow-host NAME`."
            )
        if method.upper() in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin.strip())
            same = (
                host is not None
                and parts.scheme in ("http", "https")
                and parts.netloc.lower() == host.strip().lower()
            )
            if not same:
                return (
                    f"Refused: a {method.upper()} from the web page at {origin!r} "
                    "(another origin); the management API and the dashboard take "
                    "changes only from the host's own pages or from non-browser clients."
                )
        site = headers.get("sec-fetch-site")
        if site is not None and site.strip().lower() not in _BROWSER_OK_SITES:
            return (
                f"Refused: a {method.upper()} sent by a browser from another site "
                f"(Sec-Fetch-Site: {site}); the management API and the dashboard take "
                "changes only from the host's own pages or from non-browser clients."
            )
        return None
