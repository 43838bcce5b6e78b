"""How the server answers over HTTP: strict JSON bodies, one-line error bodies with the status each error kind
maps to, the request-body size limit, and HEAD. server.py holds the routes; server_guard.py what keeps others out."""

import logging
import sys
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sensesearch import json_dumps

from .errors import (
    ConfigMismatchError,
    EncoderOutputError,
    EngineError,
    IndexClosedError,
    IndexCorruptError,
    IndexExistsError,
    IndexLockedError,
    IndexNotFoundError,
    InputError,
    ModelLoadError,
    QueryError,
    ReadOnlyError,
    SenseCountError,
    SenseNotFoundError,
    SenseSearchError,
    SetupError,
    StorageError,
    StorageUnavailableError,
    UsageError,
    WordNotFoundError,
)

log = logging.getLogger(__name__)

# The client's own mistakes are 4xx; the served index's state is the server's problem (5xx): an index folder
# gone or being replaced, a database locked or busy, a full disk (503: may come back, e.g. once a rebuild
# finishes), files or a database that cannot be read, a model or engine that fails, a process set up wrongly (500).
# The first class an error is an instance of decides; every kind in sensesearch.errors is listed, so the fallback,
# UNLISTED_STATUS, meets only a bare SenseSearchError, which no code of ours raises: not knowing whose it is, the
# server does not tell the client it was theirs.
STATUS_OF: tuple[tuple[type[SenseSearchError], int], ...] = (
    (IndexClosedError, 503),  # a UsageError to a caller of the API; to a client, a request that met the shutdown
    (QueryError, 400), (SenseCountError, 400), (UsageError, 400), (InputError, 400),
    (WordNotFoundError, 404), (SenseNotFoundError, 404), (IndexExistsError, 409),
    (IndexNotFoundError, 503), (IndexLockedError, 503), (StorageUnavailableError, 503),
    (IndexCorruptError, 500), (ConfigMismatchError, 500), (ModelLoadError, 500), (ReadOnlyError, 500),
    (StorageError, 500), (EncoderOutputError, 500), (EngineError, 500), (SetupError, 500),
)
UNLISTED_STATUS = 500


class ErrorOut(BaseModel):
    """Every error answer: one readable line, plus validation details where there are any."""

    error: str
    detail: list[Any] | None = None


class _TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


class BodyLimit:
    """Refuse request bodies over `max_bytes`, by Content-Length or by counting what arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await error_response(413, f"request body is larger than {self.max_bytes} bytes")(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException, because FastAPI turns other errors while reading a body into a 400.
                raise _TooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


class HeadAsGet:
    """Answer HEAD as GET without the body (HTTP allows HEAD wherever GET is; FastAPI's routes take only GET).

    A path without GET answers HEAD as it answers GET: 405, with the methods it takes in Allow.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            # The headers, Content-Length included, stay those of GET, as HEAD's must.
            await send({**message, "body": b""} if message["type"] == "http.response.body" else message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class AsciiJSON(JSONResponse):
    """Escapes everything outside ASCII, so text that is not valid Unicode can be reported back too."""

    def render(self, content: Any) -> bytes:
        return json_dumps(content, ascii_only=True).encode("ascii")


class StrictJSON(JSONResponse):
    """Every answer as strict JSON: a non-finite number is null, never `NaN` (which a browser cannot parse)."""

    def render(self, content: Any) -> bytes:
        try:
            return json_dumps(content).encode("utf-8")
        except UnicodeEncodeError:
            return json_dumps(content, ascii_only=True).encode("ascii")


def error_response(status: int, message: str, detail: list[Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The body of every error answer (ErrorOut): `{"error": message}`, with `detail` where given."""
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    return AsciiJSON(body, status_code=status, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    """Every error `app` raises answered as `error_response`: domain errors with their STATUS_OF status."""
    @app.exception_handler(SenseSearchError)
    async def domain_error(_request: Request, exc: SenseSearchError) -> JSONResponse:
        status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), UNLISTED_STATUS)
        if status >= 500:
            log.error("answered %d, %s: %s", status, type(exc).__name__, exc)
        return error_response(status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # The rejected input is left out: the caller has it, and it may be up to the body limit long.
        errors = jsonable_encoder([{key: value for key, value in _in_characters(error).items() if key != "input"}
                                   for error in exc.errors()])
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error_response(422, "the request body is not valid JSON", errors)
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else first.get("msg", "invalid request")
        return error_response(422, message, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers a body json.loads fails on with something other than a JSONDecodeError (bytes that are not
        # UTF-8, arrays nested past the recursion limit) as a bare 400 "There was an error parsing the body";
        # it is bad JSON like any other, so it gets that answer.
        if isinstance(exc.__cause__, UnicodeDecodeError):
            return error_response(422, "the request body is not valid JSON: it is not UTF-8 text")
        if isinstance(exc.__cause__, RecursionError):
            return error_response(422, "the request body is not valid JSON: it is nested too deeply")
        if isinstance(exc.__cause__, ValueError) and "digits" in str(exc.__cause__):
            # json.loads refuses an integer of more digits than Python converts (sys.get_int_max_str_digits).
            return error_response(422, f"the request body holds a number of more than "
                                       f"{sys.get_int_max_str_digits():,} digits, more than is read")
        return error_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))


def _in_characters(error: dict[str, Any]) -> dict[str, Any]:
    """A text over its length said in characters, as pydantic says it of a plain str: behind a validator (a `where`
    item, server.Text, is read first) it had said "Value should have at most 1000 items" of a 1,206-character one."""
    if error.get("type") == "too_long" and isinstance(error.get("input"), str):
        ctx = error.get("ctx", {})
        return {**error, "msg": f"Text should have at most {ctx.get('max_length')} characters, not {len(error['input'])}",
                "ctx": {**ctx, "field_type": "Text"}}
    return error
