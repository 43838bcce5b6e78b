"""The checks of an API route that come after routing and before its body is read: the token, then JSON, then
the names of the query parameters.

FastAPI reads and validates a body before it runs any dependency, so a token checked by a dependency
came after a 422 for a malformed body, and a content-type check in middleware came before routing (a
415 for a method the path does not even take). GuardedRoute runs the Gate between the two.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, get_origin

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param

from .server_guard import check_token

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPES = frozenset({"application/json"})
MANY = (list, tuple, set, frozenset)


@dataclass(frozen=True)
class Gate:
    """What a request to an API route must show: the bearer token when the server has one, JSON when it sends data.

    `wanted` is the SHA-256 digest of the token (None: no token needed); create_app keeps one in app.state.gate.
    """

    wanted: bytes | None

    @classmethod
    def for_token(cls, token: str | None) -> Gate:
        """The Gate of a server started with `token`; UsageError for a token no client can send (check_token)."""
        if token is None:
            return cls(None)
        check_token(token)
        return cls(hashlib.sha256(token.encode("ascii")).digest())

    def check(self, request: Request) -> None:
        """Raise HTTPException 401 without the token, then 415 for a body-carrying request that is not JSON."""
        if self.wanted is not None:
            scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
            # Starlette decodes header bytes as latin-1, so encoding back gives exactly the bytes sent;
            # digests of equal length keep the comparison's time independent of the token's length too.
            presented = hashlib.sha256(credentials.encode("latin-1")).digest()
            if scheme.lower() != "bearer" or not secrets.compare_digest(presented, self.wanted):
                raise HTTPException(401, "a valid bearer token is required (Authorization: Bearer TOKEN)",
                                    headers={"WWW-Authenticate": "Bearer"})
        if request.method in BODY_METHODS:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media not in JSON_TYPES:
                raise HTTPException(415, f"requests that send or change data must be JSON "
                                         f"(Content-Type: application/json), not {media or 'none'}")


class GuardedRoute(APIRoute):
    """An API route that runs `app.state.gate` once routing has chosen it and before its body is read.

    After routing, so that a method the path does not take is a 405 (not a 415); before the body, so that
    a request without the token is a 401 whatever its body holds (not a 422 that tells how it was read).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        takes, many = _query_names(self.dependant)

        async def guarded(request: Request) -> Response:
            request.app.state.gate.check(request)
            _check_query(request, takes, many)
            return await handler(request)

        return guarded


def _query_names(dependant: Dependant) -> tuple[list[str], frozenset[str]]:
    """The query parameters a route takes (its dependencies' too), and those of them that may repeat (lists)."""
    takes: list[str] = []
    many: set[str] = set()
    for field in dependant.query_params:
        takes.append(field.alias)
        if get_origin(field.field_info.annotation) in MANY:
            many.add(field.alias)
    for inner in dependant.dependencies:
        inner_takes, inner_many = _query_names(inner)
        takes += [name for name in inner_takes if name not in takes]
        many |= inner_many
    return takes, frozenset(many)


def _check_query(request: Request, takes: list[str], many: frozenset[str]) -> None:
    """A 422 for a query parameter the route lacks or one given twice that takes one value: FastAPI ignores the
    first and keeps the last of the second, so `?word=bank&document=x` (a CLI option, not an API one) or
    `?limt=5` had answered from the whole index or with the default, as an unknown JSON field would have."""
    errors: list[dict[str, Any]] = []
    for name in dict.fromkeys(request.query_params.keys()):
        if name not in takes:
            known = ", ".join(takes) or "none"
            errors.append({"type": "extra_forbidden", "loc": ("query", name),
                           "msg": f"not a parameter of this call (it takes: {known})"})
        elif name not in many and len(request.query_params.getlist(name)) > 1:
            errors.append({"type": "too_long", "loc": ("query", name), "msg": "given more than once; give it once"})
    if errors:
        raise RequestValidationError(errors)
