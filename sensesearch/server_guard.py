"""What keeps other web sites and strangers out of a local server: the Host check, the token, JSON-only writes.

- DNS rebinding: a page on evil.example can make its own name resolve to 127.0.0.1 and then read
  the API as same-origin; its requests still say `Host: evil.example`. So only the names the
  server is bound to (loopback names for a loopback address) and those allowed with --allow-host
  are answered. A server bound to every interface (0.0.0.0, ::) also answers to any IP literal,
  which rebinding cannot produce.
- Cross-site writes: an HTML form can POST to any address but only as form or text content, so a
  request that changes anything must say `Content-Type: application/json` (else 415). A page that
  sends JSON cross-site needs a CORS preflight, which this server never grants.
- Tokens: HTTP header values are bytes, which Starlette reads as latin-1 and browsers refuse to send
  outside latin-1; a token is therefore limited to visible ASCII, refused at start otherwise.
- Order: the Host check comes first, for every path; then routing (an unknown path is a 404, a method the
  path does not take a 405); then, on an API route and before its body is read, the token (401) and the
  content type (415) (server_gate.py). So a stranger learns nothing from how a body would have been read.

This module stays free of FastAPI: `serve` checks a token with it before anything heavy is imported.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import UsageError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"", "0.0.0.0", "::"})


@dataclass(frozen=True)
class HostRule:
    """The Host names a server answers to (normalised by `host_name`), and whether any IP literal will do."""

    names: frozenset[str]
    any_ip: bool

    def allows(self, name: str | None) -> bool:
        if name is None:
            return False
        return name in self.names or (self.any_ip and _is_ip(name))


def check_token(token: str) -> None:
    """Raise UsageError unless `token` is one or more visible ASCII characters (what a header can carry)."""
    if not token or any(not "\x21" <= ch <= "\x7e" for ch in token):
        raise UsageError("--token must be visible ASCII characters only (letters, digits, punctuation; no spaces): "
                         "an HTTP header cannot carry anything else, so no client could present it")


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> HostRule:
    """The HostRule of a server bound to address `bound`, plus the names in `extra` (--allow-host).

    Raises UsageError for an --allow-host value that is empty or not a host name or address (check_host).
    """
    names = {check_host(given) for given in extra}
    own = host_name(bound) if bound not in WILDCARDS else None
    loopback = bound in WILDCARDS or (own is not None and (own == "localhost" or _is_loopback(own)))
    if own:
        names.add(own)
    if loopback:
        names |= LOOPBACK_NAMES
    return HostRule(frozenset(names), any_ip=bound in WILDCARDS)


def check_host(given: str) -> str:
    """The host name or address `given` (--host, --allow-host) names, as host_name reads it; UsageError for an empty or
    blank one (an unset shell variable: `serve --host ""` had said "cannot listen on : Name or service not known",
    exit 1, once the index was read) or one that is no host name or address."""
    if not given.strip():
        raise UsageError(f"an empty host name ({given!r}) names no address (is a shell variable unset?)")
    name = host_name(given)
    if not name:
        raise UsageError(f"{given!r} is not a host name or address")
    return name


def check_address(given: str) -> str:
    """check_host for the address to listen on (--host), which takes neither a port nor brackets as a Host header
    does, nor white space around it: `--host localhost:80` had failed as "cannot listen on localhost:80: Name or
    service not known" (exit 1), as `--host " 127.0.0.1"` had."""
    name = check_host(given)
    if given != given.strip():
        raise UsageError(f"{given!r} has white space around the address, which no address holds")
    if given.startswith("[") or (":" in given and not _is_ip(given)):
        raise UsageError(f"{given!r} is not an address alone: give the port with --port, and an IPv6 address "
                         "without brackets (::1)")
    return name


def host_name(value: str) -> str | None:
    """The host of a Host header value ("name", "name:port", "[v6]:port"), lower case, without a final dot;
    IP literals in their canonical form. None when the value is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = (value[1:end], value[end + 1:]) if end > 0 else ("", "")
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
    elif value.count(":") == 1:
        name, port = value.split(":")
        if not port.isdigit():
            return None
    elif ":" in value:
        name = value if _is_ip(value) else ""
    else:
        name = value
    name = name.rstrip(".")
    if _is_ip(name):
        return str(ipaddress.ip_address(name))
    if not name or any(not (ch.isalnum() or ch in "-._") for ch in name):
        return None
    return name


class RequestGuard:
    """ASGI middleware: refuse a request whose Host is not in `hosts` (400), whatever its path."""

    def __init__(self, app: ASGIApp, hosts: HostRule, on_error: Callable[[int, str], ASGIApp]) -> None:
        self.app = app
        self.hosts = hosts
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if not self.hosts.allows(host_name(given)):
            shown = given.split(":")[0] if given.count(":") == 1 else given
            message = (f"this server does not answer to the host name {given!r}; if it is yours, start the server "
                       f"with --allow-host {shown}" if given else "a Host header is required")
            await self.on_error(400, message)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
