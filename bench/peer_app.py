"""The peer: the stack a team would pick instead of the service's, doing the same work. FastAPI,
pydantic v2 (bench/peer_models.py, the service's validation rules), psycopg's
AsyncConnectionPool, served by uvicorn with uvloop and httptools:

    uvicorn bench.peer_app:app --loop uvloop --http httptools --workers 2

It sends the service's own statements (bench/bare_sql.py and bench/match_sql.py, held equal
to service/repo/ by `sql_drift.drift()`), in the same transactions, matches texts with the
service's own flow and scoring (bench/match_flow.py, service.matching.*), checks the same bearer
keys (SHA-256, looked up in api_keys, cached per process for AUTH_CACHE_SECONDS as the service
does), and answers the measured paths with the service's bytes (bench/same.py checks that at
the start of a run, tests/test_bench_peer.py in process). Its pool has the service's sizes,
timeouts and session settings, but no check on every borrow: psycopg's default, which such a
team would keep.

Left out, as a team would until it needed them: idempotency keys, rate limits, metrics, access
lines, ETags, problem+json bodies (errors are FastAPI's `{"detail": ...}`, with the service's
statuses), and the look-up of an existing sighting when one is posted again (a 409 here; the
benchmark never posts one twice).
"""

import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from psycopg import AsyncConnection
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from bench import bare_sql, match_flow, peer_models
from bench.peer_models import MatchIn, SightingIn
from service import config
from service.api.stats import TIMELINE_REBUTTALS
from service.db import Database
from service.domain import stats as arithmetic
from service.domain.narratives import refusal
from service.domain.roles import RANK
from service.formats import stats as stats_formats
from service.repo import identities
from service.repo.timeline import STEPS
from service.schemas.sightings import MAX_BATCH
from service.schemas.stats import MAX_BUCKETS
from service.web.auth import KEY_FORMAT
from service.web.jsonio import loads_request

_JSON = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS  # as service.web.jsonio writes
set_json_loads(orjson.loads)  # json columns (the nested objects the queries build)

# A created sighting's members in SightingCreated's order (service/schemas/sightings.py).
_SIGHTING = (
    "id", "narrative", "observed_at", "url", "url_normalized", "reported_in", "source", "actor",
    "quote", "language", "country", "external_id", "confidence", "status", "reported_by",
    "updated_by", "created_at", "updated_at", "duplicate",
)  # fmt: skip
_COLUMNS = (
    "narrative_id", "observed_at", "url", "url_normalized", "source_name", "source_kind",
    "actor_name", "actor_role", "quote", "language", "country", "external_id", "confidence",
    "reported_in_url", "reported_in_name", "content_key",
)  # fmt: skip


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = orjson.dumps(body, option=_JSON, default=str)
    return Response(content, status, headers, media_type="application/json")


def _ref(ref: str) -> dict[str, Any]:
    try:
        return {"id": uuid.UUID(ref), "slug": None}
    except ValueError:
        return {"id": None, "slug": ref.lower()}


def _cursor(listing: str, row: dict[str, Any], key: str) -> str:
    raw = json.dumps([listing, row[key].isoformat(), str(row["id"])], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _page(rows: list[dict[str, Any]], limit: int, listing: str, key: str) -> dict[str, Any]:
    items = rows[:limit]
    cursor = _cursor(listing, items[-1], key) if len(rows) > limit else None
    return {"items": items, "next_cursor": cursor}


class Peer:
    """The per-process state: settings, the pool (opened by the lifespan) and the key cache."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.settings = {**config.load(), **(overrides or {})}
        self.pool: AsyncConnectionPool | None = None
        self.keys: dict[str, tuple[float, dict[str, Any]]] = {}

    def open_pool(self) -> AsyncConnectionPool:
        s = self.settings
        # The service's own pool, never opened: its settings, read rather than copied.
        template = Database(
            s["DATABASE_URL"],
            min_size=s["DB_POOL_MIN_SIZE"],
            max_size=s["DB_POOL_MAX_SIZE"],
            timeout=s["DB_POOL_TIMEOUT"],
            statement_timeout_ms=s["DB_STATEMENT_TIMEOUT_MS"],
        ).pool
        self.pool = AsyncConnectionPool(
            template.conninfo,
            min_size=template.min_size,
            max_size=template.max_size,
            timeout=template.timeout,
            kwargs=template.kwargs,
            reconnect_timeout=template.reconnect_timeout,
            open=False,
            name="peer",
        )
        return self.pool

    async def identify(self, header: str | None) -> dict[str, Any]:
        """The calling key, as service.web.auth.identify finds it; 401 otherwise."""
        if not header:
            raise _unauthorized("Send an API key: Authorization: Bearer <key>.")
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise _unauthorized("Use the Bearer scheme: Authorization: Bearer <key>.")
        if not KEY_FORMAT.fullmatch(key):
            raise _unauthorized("The API key is unknown or revoked.")
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        ttl = self.settings["AUTH_CACHE_SECONDS"]
        cached = self.keys.get(key_hash)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        async with self.pool.connection() as conn:
            cursor = await conn.execute(bare_sql.AUTHENTICATE, {"key_hash": key_hash})
            found = await cursor.fetchone()
        if found is None:
            raise _unauthorized("The API key is unknown or revoked.")
        if ttl > 0:
            if len(self.keys) >= 10_000:
                self.keys.clear()
            self.keys[key_hash] = (time.monotonic() + ttl, found)
        return found


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, {"WWW-Authenticate": 'Bearer realm="narrative-tracker"'})


def _requires(peer: Peer, role: str) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def caller(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        key = await peer.identify(authorization)
        if RANK[key["role"]] < RANK[role]:
            raise HTTPException(403, f"This needs the '{role}' role.")
        return key

    return caller


async def _insert(conn: AsyncConnection, rows: list[dict[str, Any]], by: str) -> list[uuid.UUID]:
    """Insert rows whose narratives are resolved; their new ids, in order (409 on a repeat)."""
    ids = [uuid.uuid4() for _ in rows]
    wanted = {
        key: id_
        for row, id_ in zip(rows, ids, strict=True)
        for key in identities.of(row, by)
        if key is not None
    }
    claims = {"identity": list(wanted), "sighting_id": list(wanted.values())}
    if (await conn.execute(bare_sql.CLAIM, claims)).rowcount != len(wanted):
        raise HTTPException(409, "A sighting posted again (the peer does not look it up).")
    values: dict[str, Any] = {name: [row[name] for row in rows] for name in _COLUMNS}
    values.update(id=ids, by=by)
    await conn.execute(bare_sql.INSERT_MANY, values)
    return ids


async def _body(request: Request, cap: int) -> Any:
    """The JSON body, as the service takes it: JSON only (415), capped (413), parsed by the
    service's strict parser (400)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "Send the body as JSON with Content-Type: application/json.")
    raw = await request.body()
    if len(raw) > cap:
        raise HTTPException(413, "The body is over the size limit.")
    try:
        return loads_request(raw)  # the service's parse: the same bodies refused
    except ValueError as exc:
        raise HTTPException(400, "The request body is not valid JSON.") from exc


async def _resolve(conn: AsyncConnection, refs: list[str]) -> dict[str, dict[str, Any]]:
    params = [_ref(ref) for ref in refs]
    cursor = await conn.execute(
        bare_sql.RESOLVE_MANY,
        {"refs": refs, "ids": [p["id"] for p in params], "slugs": [p["slug"] for p in params]},
    )
    return {row["ref"]: row for row in await cursor.fetchall()}


async def _record_one(peer: Peer, body: Any, by: str) -> Response:
    try:
        item = SightingIn.model_validate(body)
    except ValidationError as exc:
        raise HTTPException(422, peer_models.errors(exc)) from exc
    row = peer_models.columns(item)
    async with peer.pool.connection() as conn, conn.transaction():
        narratives = await _resolve(conn, [row["narrative"]])
        problem = refusal(narratives.get(row["narrative"]), row["narrative"])
        if problem:
            raise HTTPException(422, {"narrative": [problem]})
        row["narrative_id"] = narratives[row["narrative"]]["id"]
        (id_,) = await _insert(conn, [row], by)
        found = await (await conn.execute(bare_sql.GET_SIGHTING, {"id": id_})).fetchone()
    found["duplicate"] = False
    sighting = {name: found[name] for name in _SIGHTING}
    return _json(sighting, 201, {"Location": f"/v1/sightings/{id_}"})


async def _record_batch(peer: Peer, items: list[Any], by: str) -> Response:
    if len(items) > MAX_BATCH:
        raise HTTPException(413, f"A batch holds at most {MAX_BATCH} sightings.")
    results: list[dict[str, Any]] = [{"index": i} for i in range(len(items))]
    valid: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(items):
        try:
            valid[index] = peer_models.columns(SightingIn.model_validate(item))
        except ValidationError as exc:
            results[index].update(status="invalid", errors=peer_models.errors(exc))
    async with peer.pool.connection() as conn, conn.transaction():
        narratives = await _resolve(conn, sorted({row["narrative"] for row in valid.values()}))
        for index, row in list(valid.items()):
            problem = refusal(narratives.get(row["narrative"]), row["narrative"])
            if problem:
                results[index].update(status="invalid", errors={"narrative": [problem]})
                del valid[index]
                continue
            row["narrative_id"] = narratives[row["narrative"]]["id"]
        if valid:
            ids = await _insert(conn, list(valid.values()), by)
            for index, id_ in zip(valid, ids, strict=True):
                results[index].update(status="created", id=id_)
    invalid = len(items) - len(valid)
    body = {"results": results, "created": len(valid), "duplicates": 0, "invalid": invalid}
    return _json(body, 422 if not valid else 207 if invalid else 200)


def build(overrides: dict[str, Any] | None = None) -> FastAPI:
    """The app; settings from the environment (then `overrides`), the pool opened per process
    by the lifespan, so that uvicorn's workers never share one."""
    peer = Peer(overrides)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool = peer.open_pool()
        await pool.open(wait=False)
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    monitor = Annotated[dict[str, Any], Depends(_requires(peer, "monitor"))]
    reader = Annotated[dict[str, Any], Depends(_requires(peer, "reader"))]
    cap = peer.settings["MAX_CONTENT_LENGTH"]

    @app.post("/v1/sightings")
    async def post_sightings(request: Request, key: monitor) -> Response:
        body = await _body(request, cap)
        if not isinstance(body, dict):
            raise HTTPException(422, 'Send one sighting (an object) or {"sightings": [...]}.')
        if "sightings" not in body:
            return await _record_one(peer, body, key["name"])
        items = body["sightings"]
        if set(body) != {"sightings"} or not isinstance(items, list) or not items:
            raise HTTPException(422, {"sightings": ["Send only a non-empty list of sightings."]})
        return await _record_batch(peer, items, key["name"])

    @app.post("/v1/match")
    async def match(request: Request, _: reader) -> Response:
        """service/api/match.py's `find()`, shared with the bare app (bench/match_flow.py);
        the scoring is CPU work, done inline as such a team would."""
        try:
            data = MatchIn.model_validate(await _body(request, cap))
        except ValidationError as exc:
            raise HTTPException(422, peer_models.errors(exc)) from exc
        flow = match_flow.find(
            text=data.text, url=data.url, language=data.language, limit=data.limit
        )
        async with peer.pool.connection() as conn:
            return _json(await match_flow.run_async(conn, flow))

    @app.get("/v1/sightings")
    async def list_sightings(_: reader, limit: Annotated[int, Query(ge=1, le=200)] = 50):
        async with peer.pool.connection() as conn:
            cursor = await conn.execute(
                bare_sql.SIGHTINGS_PAGE, {"after_at": None, "after_id": None, "n": limit + 1}
            )
            rows = await cursor.fetchall()
        return _json(_page(rows, limit, "sightings", "observed_at"))

    @app.get("/v1/narratives/{ref}/rebuttals")
    async def narrative_rebuttals(
        ref: str, _: reader, limit: Annotated[int, Query(ge=1, le=200)] = 50
    ) -> Response:
        async with peer.pool.connection() as conn:
            narrative = await (await conn.execute(bare_sql.RESOLVE, _ref(ref))).fetchone()
            if narrative is None:
                raise HTTPException(404, f"No narrative matches '{ref}'.")
            cursor = await conn.execute(
                bare_sql.NARRATIVE_REBUTTALS_PAGE,
                {
                    "narrative_id": narrative["id"],
                    "after_at": None,
                    "after_id": None,
                    "n": limit + 1,
                },
            )
            rows = await cursor.fetchall()
        return _json(_page(rows, limit, "rebuttals", "published_at"))

    @app.get("/v1/narratives/{ref}/timeline")
    async def narrative_timeline(ref: str, _: reader, interval: str = "day") -> Response:
        """The service's default range, the same SQL, and its pure document builder."""
        if interval not in STEPS:
            raise HTTPException(422, "interval: must be hour, day or week")
        async with peer.pool.connection() as conn:
            narrative = await (await conn.execute(bare_sql.RESOLVE, _ref(ref))).fetchone()
            if narrative is None:
                raise HTTPException(404, f"No narrative matches '{ref}'.")
            span = await (
                await conn.execute(bare_sql.TIMELINE_SPAN, {"id": narrative["id"]})
            ).fetchone()
            window = arithmetic.timeline_range(
                interval,
                start=None,
                end=None,
                first_seen=span["first_seen_at"],
                last_seen=span["last_seen_at"],
                now=datetime.now(UTC),
                max_buckets=MAX_BUCKETS,
            )
            bounds = {"id": narrative["id"], "lo": window.start, "hi": window.end}
            rows = await (
                await conn.execute(_timeline_buckets(interval), {**bounds, "step": STEPS[interval]})
            ).fetchall()
            rebuttals = await (
                await conn.execute(bare_sql.TIMELINE_REBUTTALS, {**bounds, "n": TIMELINE_REBUTTALS})
            ).fetchall()
        return _json(
            stats_formats.timeline_document(narrative, span, window, interval, rows, rebuttals)
        )

    @app.get("/v1/stats/coverage")
    async def coverage(_: reader, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
        params = {"since": None, "tag": None}
        async with peer.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    bare_sql.COVERAGE_PAGE,
                    {**params, "k1": None, "k2": None, "after_id": None, "n": limit + 1},
                )
            ).fetchall()
            overall = await (await conn.execute(bare_sql.COVERAGE_OVERALL, params)).fetchone()
        document = stats_formats.coverage_document(
            rows, overall, limit=limit, sort="unrebutted_first"
        )
        return _json(document)

    @app.get("/readyz")
    async def ready() -> Response:
        async with peer.pool.connection() as conn:
            await conn.execute("SELECT 1")
        return _json({"status": "ok"})

    return app


app = build()


def _timeline_buckets(interval: str) -> str:
    """The statement service/repo/timeline.py `buckets` sends for `interval`."""
    return bare_sql.TIMELINE_HOUR_BUCKETS if interval == "hour" else bare_sql.TIMELINE_BUCKETS
