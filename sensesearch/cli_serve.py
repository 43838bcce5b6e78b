"""The `sensesearch serve` command: the HTTP API and concordance page, run by uvicorn."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from pathlib import Path
from typing import Annotated, Optional
from urllib.parse import quote

import typer

import sensesearch
from sensesearch import SetupError

from .cli import app, err, guarded
from .cli_options import DEFAULT_INDEX, DeviceOption, IndexOption, check_value
from .server_guard import check_address, check_host, check_token


@app.command()
@guarded
def serve(
    index: IndexOption = Path(DEFAULT_INDEX),
    host: Annotated[str, typer.Option(callback=check_value(check_address),
                                      help="Address to listen on; anything but loopback wants --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    token: Annotated[str | None, typer.Option(
        envvar="SENSESEARCH_TOKEN", show_envvar=True,
        help="Require 'Authorization: Bearer TOKEN' on every API call ('random' makes one up).")] = None,
    allow_host: Annotated[Optional[list[str]], typer.Option(
        "--allow-host", callback=check_value(lambda names: [check_host(name) for name in names]),
        help="Also answer requests that name this host (e.g. a DNS name of this machine); repeatable. Other names "
             "are refused, which stops DNS-rebinding pages.")] = None,
    device: DeviceOption = None,
) -> None:
    """Serve the index read-only: JSON API under /api, OpenAPI at /openapi.json, the page at /.

    The port is bound before the model loads, and the address printed only once it is bound.

    \b
    Example: sensesearch serve --index indexes/demo --port 8000
    """
    import uvicorn

    from .server import create_app

    if token == "random":
        token = secrets.token_urlsafe(18)
    if token is not None:
        check_token(token)
    # A missing index, or a model it records that cannot run here, is the error to show, not a busy port.
    recorded = sensesearch.read_index_config(index).encoder
    sensesearch.check_precision(recorded.precision, device, recorded=True)
    listener = bind(host, port)
    try:
        if not _is_loopback(host) and token is None:
            err.print(f"Warning: serving on {host} without --token: anyone who can reach it can query the index")
        application = create_app(index, token=token, device=device, host=host, allow_hosts=allow_host or ())
        err.print("loading the model ...")
        application.state.service.warm()
        shown = f"[{host}]" if ":" in host else host
        fragment = f"#token={quote(token, safe='')}" if token else ""
        err.print(f"sensesearch serving {index} at http://{shown}:{port}/{fragment}  (Ctrl+C stops it)")
        server = uvicorn.Server(uvicorn.Config(application, log_level="warning"))
        server.run(sockets=[listener])
        application.state.service.close()
    finally:
        listener.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), or SetupError saying why not (in use, no such address)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise SetupError(f"cannot listen on {host}: {exc.strerror}") from None
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
        listener.listen(128)
    except OSError as exc:
        listener.close()
        if exc.errno in (99, 49, 10049):  # EADDRNOTAVAIL: no interface of this machine has that address
            raise SetupError(f"cannot listen on {host}: no network interface of this machine has that "
                             "address; pick another with --host") from None
        reason = "is already in use" if exc.errno in (98, 48, 10048) else f"cannot be used: {exc.strerror or exc}"
        raise SetupError(f"port {port} on {host} {reason}; pick another with --port") from None
    listener.set_inheritable(True)
    return listener


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
