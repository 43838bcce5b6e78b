"""The `sensesearch serve` command: the HTTP API and concordance page, run by uvicorn."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Annotated

import typer

from .cli import DEFAULT_INDEX, DeviceOption, IndexOption, app, err, guarded
from .errors import SenseSearchError


@app.command()
@guarded
def serve(
    index: IndexOption = Path(DEFAULT_INDEX),
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback wants --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    token: Annotated[str | None, typer.Option(
        envvar="SENSESEARCH_TOKEN", show_envvar=True,
        help="Require 'Authorization: Bearer TOKEN' on every API call ('random' makes one up).")] = None,
    device: DeviceOption = None,
) -> None:
    """Serve the index read-only: JSON API under /api, OpenAPI at /openapi.json, the page at /.

    Example: sensesearch serve --index indexes/default --port 8000
    """
    import uvicorn

    from .server import create_app

    if token == "random":
        token = secrets.token_urlsafe(18)
    if token is not None and not token.strip():
        raise SenseSearchError("--token must not be empty")
    if not _is_loopback(host) and token is None:
        err.print(f"[yellow]Warning:[/] serving on {host} without --token: anyone who can reach it can query the index")
    application = create_app(index, token=token, device=device)
    err.print("loading the model ...")
    application.state.service.warm()
    shown = f"[{host}]" if ":" in host else host
    fragment = f"#token={token}" if token else ""
    err.print(f"sensesearch serving {index} at http://{shown}:{port}/{fragment}  (Ctrl+C stops it)")
    uvicorn.run(application, host=host, port=port, log_level="warning")
    application.state.service.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
