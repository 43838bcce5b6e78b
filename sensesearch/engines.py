"""Where encoding runs during ingestion: in this process (local) or on a Ray cluster (ray).

The local engine imports nothing from Ray; the Ray module is imported only when asked for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import SetupError, UsageError

if TYPE_CHECKING:
    from .ingest import ChunkEncoder
    from .parts import Configured

ENGINES = ("local", "ray")
# Ray itself retries an unreachable GCS for about ten minutes before it gives up; a cluster that does not
# answer a TCP connect within this many seconds is reported at once instead.
RAY_CONNECT_TIMEOUT_S = 5.0
RAY_GCS_PORT = 6379  # `ray start --head` default
RAY_CLIENT_PORT = 10001
RAY_DASHBOARD_PORT = 8265
ADDRESS_FORMS = "auto, HOST:PORT (the head node's GCS port, 6379 by default) or ray://HOST:PORT (Ray Client)"


def check_engine(engine: str, address: str | None = None, workers: int | None = None) -> None:
    """Reject an unknown engine, or Ray options without the Ray engine, before anything is written."""
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "local" and (address is not None or workers is not None):
        raise UsageError("--address and --workers apply to --engine ray")
    # Checked here, before a model loads or an index folder is made, not when the engine starts.
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        raise SetupError("--engine ray needs Ray, which is not installed: pip install 'sensesearch[ray]'")
    if engine == "ray":
        check_ray_address(address)


def ray_endpoint(address: str) -> tuple[str, int, bool] | None:
    """Where Ray first connects for `address`: (host, port, is Ray Client), or None where Ray finds the cluster itself.

    Accepts Ray's forms: auto and local (None), HOST:PORT and [IPv6]:PORT (a GCS), ray://HOST:PORT (Ray Client);
    another scheme (a module's ClientBuilder, e.g. anyscale://) is left to Ray (None). UsageError if malformed.
    """
    if address in ("auto", "local"):
        return None
    scheme, sep, rest = address.partition("://")
    client = scheme == "ray"
    if sep and not client:
        if scheme in ("http", "https"):
            raise UsageError(f"--address must be {ADDRESS_FORMS}, not {address!r}: an http address is the dashboard or "
                             "jobs API, which cannot run a driver")
        return None
    if not sep:
        rest = address
    if rest.startswith("["):
        host, bracket, tail = rest[1:].partition("]")
        has_port, port = tail.startswith(":"), tail[1:]
        valid = bool(bracket) and (has_port or not tail)
    else:
        host, has_port, port = rest.rpartition(":")[0], ":" in rest, rest.rpartition(":")[2]
        host = host if has_port else rest
        valid = host.count(":") == 0
    if client and not has_port and valid and host:
        return None  # ray://HOST: Ray Client's own default, left to Ray
    if not (valid and host and has_port and port.isdigit() and 0 < int(port) < 65536):
        raise UsageError(f"--address must be {ADDRESS_FORMS}, not {address!r}"
                         + ("; write an IPv6 address as [HOST]:PORT" if not valid else ""))
    return host, int(port), client


def check_ray_address(address: str | None, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Fail in seconds, not Ray's minutes of retries, where the cluster `address` names does not answer.

    A plain TCP connect to the GCS (or Ray Client) port: it proves the port is open, not that Ray listens there,
    but it catches a wrong host or port, a stopped head node and a firewall. RAY_ADDRESS is checked where Ray
    would use it (no address, or auto).
    """
    source = "--address"
    if address in (None, "auto") and os.environ.get("RAY_ADDRESS"):
        address, source = os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
    if address is None:
        return
    try:
        endpoint = ray_endpoint(address)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--address", source, 1)) from None
    if endpoint is None:
        return
    host, port, client = endpoint
    problem = _tcp_problem(host, port, timeout)
    if problem is None:
        return
    what = "Ray Client server (ray start --head --ray-client-server-port, default 10001)" if client else \
        f"head node's GCS (ray start --head --port, default {RAY_GCS_PORT})"
    hint = f"; {RAY_DASHBOARD_PORT} is the dashboard's port, not the GCS's" if port == RAY_DASHBOARD_PORT else ""
    raise SetupError(f"cannot reach a Ray cluster at {source} {address}: {problem}; check that the {what} "
                     f"runs there and that this machine can reach {host} port {port}{hint}")


def _tcp_problem(host: str, port: int, timeout: float) -> str | None:
    """Why host:port cannot be Ray's within `timeout` seconds (no TCP connection, an HTTP/1 server), else None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            # A gRPC server (the GCS, Ray Client) speaks HTTP/2; an HTTP/1 reply is the dashboard or another web server.
            sock.settimeout(min(timeout, 2.0))
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            with contextlib.suppress(OSError):
                if sock.recv(5).startswith(b"HTTP/"):
                    return "an HTTP server answers there, not Ray's GCS"
        return None
    except socket.gaierror:
        return f"unknown host {host!r}"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except ConnectionRefusedError:
        return "connection refused"
    except OSError as exc:
        return exc.strerror or str(exc)


@contextlib.contextmanager
def open_engine(engine: str, index: Configured, address: str | None = None,
                workers: int | None = None, *, quiet: bool = False) -> Iterator[ChunkEncoder | None]:
    """The chunk encoder for `engine` (None means in-process encoding), ready for `SenseIndex.add`.

    quiet: keep the engine's own notices (Ray's logging) off the terminal.
    """
    check_engine(engine, address, workers)
    if engine == "local":
        yield None
        return
    from .ray_engine import RayChunkEncoder

    config = index.config
    with RayChunkEncoder(config.encoder, config.model_fingerprint, config.dim, address=address,
                         workers=workers, quiet=quiet) as ray_encoder:
        yield ray_encoder
