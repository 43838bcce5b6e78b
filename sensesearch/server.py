"""HTTP API and concordance page over one read-only SenseIndex (FastAPI; `sensesearch serve` runs it)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from sensesearch import (Encoder, SenseReport, SenseSearchError, check_bin_width, check_by_field, check_environment,
                         check_search_sense, clean_text, hits_with_names, is_punctuation, normalize_form, query_by_sense,
                         sort_hits, word_spans)

from .errors import UsageError, WordNotFoundError
from .records import Hit, IndexInfo
from .server_gate import Gate, GuardedRoute
from .server_guard import RequestGuard, allowed_hosts
from .server_http import BodyLimit, ErrorOut, HeadAsGet, StrictJSON, add_error_handlers, error_response
from .server_sense import add_sense_routes
from .server_state import IndexService

MAX_TEXT_CHARS = 2000
MAX_WORD_CHARS = 100
MAX_K = 200
MAX_USAGES = 2000
TOTAL_HEADER = "X-Total-Count"
"""The header of /api/usages that says how many usages there are in all (a limit may show fewer)."""
MAX_SENSES = 12
MAX_BODY_BYTES = 16 * 1024
MAX_WHERE = 20
MAX_WHERE_CHARS = 1000
"""Characters of one `where` item: the page's where box (maxlength 1000) is sent whole, `;` parting its conditions."""
STATIC = resources.files("sensesearch") / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
QuerySort = Literal["score", "left", "right"]  # kwic.QUERY_SORTS, spelled out for the OpenAPI schema
UsageSort = Literal["position", "left", "right"]  # kwic.USAGE_SORTS
NUMPY_TO_PLAIN: dict[Any, Any] = {np.generic: lambda value: value.item(), np.ndarray: lambda array: array.tolist()}


def _as_typed(value: Any) -> Any:
    """A JSON string as typed text is read: lone surrogates ("\\ud800", which no str of pydantic's can hold) and
    NUL as U+FFFD, one for one (clean_text); anything but a string is left for strict validation to refuse."""
    return clean_text(value) if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_as_typed)]
# JSON says what type a value is ("k": "3" or true is no number of results), and a field the API does not have is a
# mistake to name ({"any_words": true} or {"documents": ...} had answered from the whole index).
STRICT = ConfigDict(strict=True, extra="forbid")


def _as_field_check(check: Callable[[Any], Any], field: str) -> AfterValidator:
    """The CLI's own check of an option as a validation error of the field (422, named; the CLI's message): one
    rule for both front ends, e.g. --bin-width (0, inf and nan refused alike), --sense and --by ("" refused)."""
    def validate(value: Any) -> Any:
        try:
            return check(value)
        except SenseSearchError as exc:
            raise PydanticCustomError(field, "{reason}", {"reason": str(exc)}) from None
    return AfterValidator(validate)


SenseCheck = _as_field_check(check_search_sense, "sense")


class QueryRequest(BaseModel):
    """Body of POST /api/query: a sentence with one word marked [[like this]]."""

    model_config = STRICT

    text: Text = Field(min_length=1, max_length=MAX_TEXT_CHARS, examples=["We sat on the [[bank]] of the river."])
    k: int = Field(default=10, ge=1, le=MAX_K)
    any_word: bool = False
    sort: QuerySort = "score"
    sense: Annotated[Text | None, SenseCheck] = Field(default=None, max_length=MAX_WORD_CHARS,
                              description="Only usages tagged with this named sense (SENSE or WORD:SENSE).")

    lemma: bool = Field(default=False, description="Every form of the marked word's lemma counts as the same word.")
    where: list[Annotated[Text, Field(max_length=MAX_WHERE_CHARS)]] = Field(
        default_factory=list, max_length=MAX_WHERE, examples=[["year>=1900", "path=corpora/state_union/19*"]],
        description="Conditions on document metadata and path (FIELD OP VALUE), all of which must hold; ; parts "
                    "conditions in one item (\\; is a semicolon in a value), as --where reads it.")


def _hit_descriptions(schema: dict[str, Any]) -> None:
    """Hit's field descriptions (the offsets' unit among them) put into a subclass's schema: pydantic reads a
    dataclass's field docstrings from its own body only, so NamedHit's `start` had lost its unit."""
    described = TypeAdapter(Hit).json_schema(mode="serialization")["properties"]
    for name, field in schema["properties"].items():
        if "description" in described.get(name, {}):
            field.setdefault("description", described[name]["description"])


@dataclass(frozen=True)
class NamedHit(Hit):
    """A hit as the page lists it: with the name its document goes by in this answer."""

    __pydantic_config__ = {"use_attribute_docstrings": True, "json_schema_extra": _hit_descriptions}

    document_name: str = ""
    """The document's name in this answer's KWIC lines, as the command line's KWIC lines name it: the fewest last
    parts of its path that tell it from the answer's other documents; a JSON Lines record's id whole, or
    "FILE#id" where records of that id in two files are in the answer."""


def _named_senses(report: SenseReport) -> dict[str, Any]:
    """The report as `to_dict` gives it, its examples named as one listing (hits_with_names): the page shows every
    group's examples, and exports them as one list."""
    data = report.to_dict()
    named = iter(hits_with_names([hit for group in report.senses for hit in group.examples]))
    for group in data["senses"]:
        group["examples"] = [next(named) for _ in group["examples"]]
    return data


OFFSET_UNIT = "in Unicode code points (Python str indices), not UTF-16 code units or bytes"


class WordsRequest(BaseModel):
    """Body of POST /api/words: a sentence to split into the words the index stores."""

    model_config = STRICT

    text: Text = Field(min_length=1, max_length=MAX_TEXT_CHARS, examples=["I don't bank at the well-known 银行."])


class WordSpan(BaseModel):
    """One word of a sentence as the model's pre-tokenizer finds it (the unit the index stores)."""

    start: int = Field(description=f"Start of the word in `text`, {OFFSET_UNIT}.")
    end: int = Field(description=f"End (exclusive) of the word in `text`, {OFFSET_UNIT}.")
    word: str = Field(description="text[start:end]")
    key: str = Field(description="The normalised form the index looks the word up by (Unicode-folded, case-folded).")
    stored: bool = Field(description="False for punctuation, which the index does not store as occurrences.")


class ReloadRequest(BaseModel):
    """Body of POST /api/reload: an empty JSON object (a JSON body is what keeps cross-site forms out)."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{}]})


WordParam = Annotated[str, Query(min_length=1, max_length=MAX_WORD_CHARS,
                                 description="The word, or a phrase of adjacent words (case-insensitive).")]
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 401, 404, 413, 415, 422, 503)}
SenseParam = Annotated[str | None, SenseCheck, Query(max_length=MAX_WORD_CHARS,
                                                     description="Only usages tagged with this named sense.")]
LemmaParam = Annotated[bool, Query(description="Every form of the word's lemma counts as the same word.")]
WhereParam = Annotated[list[Annotated[str, Query(max_length=MAX_WHERE_CHARS)]], Query(
    max_length=MAX_WHERE, description="Condition on document metadata or path, FIELD OP VALUE (e.g. year>=1900); "
                                      "repeatable, all must hold; ; parts conditions in one (\\; is a semicolon "
                                      "in a value), as --where reads it.")]
ByParam = Annotated[str | None, _as_field_check(check_by_field, "by"), Query(max_length=MAX_WORD_CHARS, description=(
    "Share of each sense per bin of year, decade, document, path or a metadata field (numbers binned)."))]


def _bins_need_by(by: str | None, bin_width: float | None) -> None:
    if bin_width is not None and not by:  # it had been ignored, silently
        raise UsageError("bins are made of a `by` field: give by too")


BinWidthParam = Annotated[float | None, _as_field_check(check_bin_width, "bin_width"), Query(
    description="Width of the bins of a numeric `by` field.", json_schema_extra={"exclusiveMinimum": 0})]
SensesParam = Annotated[int | None, Query(ge=1, le=MAX_SENSES, description=(
    "Number of senses (as `senses -k`); more than the word has usages is a 400. Default: chosen by silhouette."))]


def create_app(index_path: str | Path, token: str | None = None, *, encoder: Encoder | None = None,
               device: str | None = None, max_body_bytes: int = MAX_BODY_BYTES, host: str = "127.0.0.1",
               allow_hosts: Sequence[str] = ()) -> FastAPI:
    """The API and page over the index at `index_path`, opened read-only; `token` demands a bearer token.

    Requests must name, in their Host header, the address the server is bound to (`host`; loopback
    names for a loopback address) or one of `allow_hosts`, which stops DNS-rebinding pages (see
    server_guard). Raises UsageError for a token no HTTP client can send (anything but visible ASCII), SetupError for
    a wrong setting in the environment (check_environment), which had failed each query that loaded the model instead.
    """
    check_environment()
    gate = Gate.for_token(token)
    hosts = allowed_hosts(host, allow_hosts)
    service = IndexService(Path(index_path), encoder=encoder, device=device)
    app = FastAPI(title="sensesearch", version="0.1.0", summary="Word-sense similarity search over a corpus.",
                  docs_url=None, redoc_url=None, default_response_class=StrictJSON,
                  responses=ERRORS)
    app.state.service = service
    app.state.gate = gate
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(RequestGuard, hosts=hosts, on_error=error_response)
    add_error_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    # The scheme only documents the token in the OpenAPI schema; GuardedRoute checks it (app.state.gate),
    # before the body is read, which a dependency cannot do.
    bearer = HTTPBearer(auto_error=False, description="Needed only when the server was started with --token.")
    api = APIRouter(route_class=GuardedRoute, dependencies=[Depends(bearer)])

    @api.post("/api/query", response_model=list[NamedHit], tags=["search"])
    def query(body: QueryRequest) -> list[dict[str, Any]]:
        """Usages nearest in meaning to the marked word (same word by default, any word if asked)."""
        try:
            if body.sense:
                hits = service.call(lambda index: query_by_sense(index, body.text, body.sense or "", body.k,
                                                                 body.any_word, where=body.where))
            else:
                hits = service.call(lambda index: index.query(body.text, k=body.k, any_word=body.any_word,
                                                              lemma=body.lemma, where=body.where))
        except WordNotFoundError as exc:
            # The hint names this operation's own field; /api/usages and /api/senses have no such option.
            if body.any_word or not exc.any_word_helps:
                raise
            raise WordNotFoundError(f'{exc}; set "any_word": true to search usages of every word') from None
        return hits_with_names(sort_hits(hits, body.sort))

    @api.get("/api/usages", response_model=list[NamedHit], tags=["search"])
    def usages(response: Response, word: WordParam, limit: Annotated[int, Query(ge=1, le=MAX_USAGES)] = 200,
               sort: UsageSort = "position", sense: SenseParam = None, lemma: LemmaParam = False,
               where: WhereParam = []) -> list[dict[str, Any]]:
        """Usages of a word in corpus order (or sorted by left / right context before the limit is taken), up to
        `limit`; the X-Total-Count header says how many there are in all."""
        if sense:
            page = service.call(lambda index: index.sense(word).usage_page(sense, limit=limit, where=where, sort=sort))
        else:
            page = service.call(lambda index: index.usage_page(word, limit=limit, lemma=lemma, where=where, sort=sort))
        response.headers[TOTAL_HEADER] = str(page.total)
        return hits_with_names(page.hits)

    @api.post("/api/words", response_model=list[WordSpan], tags=["search"])
    def words(body: WordsRequest) -> list[WordSpan]:
        """The words of a sentence as the index stores them, with their offsets (code points), for the page."""
        spans = service.call(lambda index: word_spans(index.encoder, body.text))
        return [WordSpan(start=s, end=e, word=body.text[s:e], key=normalize_form(body.text[s:e]),
                         stored=not is_punctuation(body.text[s:e])) for s, e in spans.tolist()]

    @api.get("/api/senses", tags=["senses"])
    def senses(word: WordParam, k: SensesParam = None,
               lemma: LemmaParam = False, where: WhereParam = [], by: ByParam = None,
               bin_width: BinWidthParam = None) -> dict[str, Any]:
        """Sense groups of a word: size, keywords and example usages of each, and each usage's group.

        With `by`, also `"by"`: each sense's usages and share per bin of that field.
        """
        _bins_need_by(by, bin_width)
        if by:
            found, timeline = service.senses_by(word, k, by, bin_width, lemma, tuple(where))
            report = {**_named_senses(found), "by": timeline.to_dict()}
        else:
            report = _named_senses(service.senses(word, k, lemma, tuple(where)))
        # Clustering hands out numpy numbers; they must not turn into a 500.
        return jsonable_encoder(report, custom_encoder=NUMPY_TO_PLAIN)

    @api.get("/api/senses/plot.png", tags=["senses"], response_class=Response,
             responses={200: {"content": {"image/png": {}}}})
    def senses_plot(word: WordParam, k: SensesParam = None,
                    lemma: LemmaParam = False, where: WhereParam = [], by: ByParam = None,
                    bin_width: BinWidthParam = None, chart: Literal["area", "bars"] | None = None) -> Response:
        """A 2-D map of a word's usages coloured by sense group, as PNG; with `by`, the senses' shares per bin (a
        `chart` of kind area, the default, or bars)."""
        _bins_need_by(by, bin_width)
        if chart is not None and not by:  # ignored too, as `senses --chart` without --by was
            raise UsageError("chart is the kind of a chart of `by` bins: give by too")
        if by:
            png = service.timeline_plot(service.timeline(word, k, by, bin_width, lemma, tuple(where)),
                                        chart or "area")
        else:
            png = service.plot(word, k, lemma, tuple(where))
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    add_sense_routes(api, service)

    @api.get("/api/info", response_model=IndexInfo, tags=["index"])
    def info() -> dict[str, Any]:
        """Counts, model recipe and sizes of the served index."""
        return service.call(lambda index: index.info()).to_dict()

    @api.post("/api/reload", response_model=IndexInfo, tags=["index"])
    def reload(_body: ReloadRequest) -> dict[str, Any]:
        """Reopen the index from disk (new documents also appear without this; it picks up a rebuilt index).

        Send `{}` as JSON: other content types are refused with 415.
        """
        return service.reload().to_dict()

    app.include_router(api)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
