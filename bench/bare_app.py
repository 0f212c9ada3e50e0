"""The floor the service is measured against: plain Flask and psycopg_pool, no flask-smorest, no
marshmallow, no auth, no problem+json, no idempotency, no request ids.

Each route sends the service's own statements for that path (bench/bare_sql.py), in the same
transactions, through the service's pool class, and returns the rows as JSON with json.dumps.
It computes `url_normalized` and `content_key` with the service's functions, since the INSERT
must store the same values, and matches texts with the service's flow and scoring
(bench/match_flow.py), since the answer must be the same. Served by gunicorn with the
service's gunicorn config: `bench.bare_app:app`.
"""

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request
from psycopg import Connection

from bench import bare_sql, match_flow
from bench.settings import MONITOR_KEY_NAME
from service import config
from service.db import Database
from service.domain import stats as arithmetic
from service.domain import urls
from service.repo import identities
from service.repo.sightings import content_key
from service.repo.timeline import STEPS

_settings = config.load()
# The service's own pool class, so both apps' pools have exactly the same settings.
pool = Database(
    _settings["DATABASE_URL"],
    min_size=_settings["DB_POOL_MIN_SIZE"],
    max_size=_settings["DB_POOL_MAX_SIZE"],
    timeout=_settings["DB_POOL_TIMEOUT"],
    statement_timeout_ms=_settings["DB_STATEMENT_TIMEOUT_MS"],
).pool
pool.open(wait=False)
app = Flask(__name__)

_COLUMNS = (
    "narrative_id",
    "observed_at",
    "url",
    "url_normalized",
    "source_name",
    "source_kind",
    "actor_name",
    "actor_role",
    "quote",
    "language",
    "country",
    "external_id",
    "confidence",
    "reported_in_url",
    "reported_in_name",
    "content_key",
)


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)  # UUIDs


def _json(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(body, default=_default), status, headers, mimetype="application/json"
    )


def _ref(ref: str) -> dict[str, Any]:
    try:
        return {"id": uuid.UUID(ref), "slug": None}
    except ValueError:
        return {"id": None, "slug": ref.lower()}


def _row(item: dict[str, Any]) -> dict[str, Any]:
    actor = item.get("actor") or {}
    reported_in = item.get("reported_in") or {}
    url = item.get("url")
    row = {
        "narrative": item["narrative"],
        "observed_at": datetime.fromisoformat(item["observed_at"]),
        "url": url,
        "url_normalized": urls.normalize(url) if url else None,
        "source_name": item["source"]["name"],
        "source_kind": item["source"]["kind"],
        "actor_name": actor.get("name"),
        "actor_role": actor.get("role"),
        "quote": item.get("quote"),
        "language": item["language"],
        "country": item.get("country"),
        "external_id": item.get("external_id"),
        "confidence": item.get("confidence"),
        "reported_in_url": reported_in.get("url"),
        "reported_in_name": reported_in.get("name"),
    }
    row["content_key"] = content_key(row)  # None when there is a URL or an external_id
    return row


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> list[uuid.UUID] | None:
    """Resolve the narratives and insert the rows; the new ids, or None if one is unknown or
    one row already existed (the benchmark never sends either)."""
    refs = sorted({row["narrative"] for row in rows})
    params = [_ref(ref) for ref in refs]
    found = conn.execute(
        bare_sql.RESOLVE_MANY,
        {"refs": refs, "ids": [p["id"] for p in params], "slugs": [p["slug"] for p in params]},
    ).fetchall()
    narratives = {n["ref"]: n["id"] for n in found if n["status"] != "archived"}
    if any(row["narrative"] not in narratives for row in rows):
        return None
    for row in rows:
        row["narrative_id"] = narratives[row["narrative"]]
    ids = [uuid.uuid4() for _ in rows]
    wanted = {
        key: id_
        for row, id_ in zip(rows, ids, strict=True)
        for key in identities.of(row, MONITOR_KEY_NAME)
        if key is not None
    }
    claims = {"identity": list(wanted), "sighting_id": list(wanted.values())}
    if conn.execute(bare_sql.CLAIM, claims).rowcount != len(wanted):
        return None
    values: dict[str, Any] = {name: [row[name] for row in rows] for name in _COLUMNS}
    values.update(id=ids, by=MONITOR_KEY_NAME)
    conn.execute(bare_sql.INSERT_MANY, values)
    return ids


def _page(rows: list[dict[str, Any]], limit: int, listing: str, key: str) -> dict[str, Any]:
    items = rows[:limit]
    cursor = None
    if len(rows) > limit:
        raw = json.dumps([listing, items[-1][key].isoformat(), str(items[-1]["id"])])
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return {"items": items, "next_cursor": cursor}


@app.post("/v1/sightings")
def post_sightings() -> Response:
    body = json.loads(request.get_data())
    batch = isinstance(body, dict) and "sightings" in body
    rows = [_row(item) for item in (body["sightings"] if batch else [body])]
    with pool.connection() as conn, conn.transaction():
        ids = _insert(conn, rows)
        if ids is None:
            return _json({"detail": "unknown narrative or duplicate"}, 409)
        if not batch:
            sighting = conn.execute(bare_sql.GET_SIGHTING, {"id": ids[0]}).fetchone()
    if not batch:
        sighting["duplicate"] = False
        return _json(sighting, 201, Location=f"/v1/sightings/{ids[0]}")
    results = [{"index": i, "status": "created", "id": id_} for i, id_ in enumerate(ids)]
    return _json({"results": results, "created": len(ids), "duplicates": 0, "invalid": 0})


@app.get("/v1/sightings")
def list_sightings() -> Response:
    limit = int(request.args.get("limit", 50))
    with pool.connection() as conn:
        rows = conn.execute(
            bare_sql.SIGHTINGS_PAGE, {"after_at": None, "after_id": None, "n": limit + 1}
        ).fetchall()
    return _json(_page(rows, limit, "sightings", "observed_at"))


@app.get("/v1/narratives/<ref>/rebuttals")
def narrative_rebuttals(ref: str) -> Response:
    limit = int(request.args.get("limit", 50))
    with pool.connection() as conn:
        narrative = conn.execute(bare_sql.RESOLVE, _ref(ref)).fetchone()
        if narrative is None:
            return _json({"detail": "no such narrative"}, 404)
        rows = conn.execute(
            bare_sql.NARRATIVE_REBUTTALS_PAGE,
            {"narrative_id": narrative["id"], "after_at": None, "after_id": None, "n": limit + 1},
        ).fetchall()
    return _json(_page(rows, limit, "rebuttals", "published_at"))


@app.get("/v1/narratives/<ref>/timeline")
def narrative_timeline(ref: str) -> Response:
    """The service's default range and the same shaping (every kind and range language in each
    bucket), with the service's pure range arithmetic."""
    interval = request.args.get("interval", "day")
    with pool.connection() as conn:
        narrative = conn.execute(bare_sql.RESOLVE, _ref(ref)).fetchone()
        if narrative is None:
            return _json({"detail": "no such narrative"}, 404)
        span = conn.execute(bare_sql.TIMELINE_SPAN, {"id": narrative["id"]}).fetchone()
        window = arithmetic.timeline_range(
            interval,
            start=None,
            end=None,
            first_seen=span["first_seen_at"],
            last_seen=span["last_seen_at"],
            now=datetime.now(UTC),
            max_buckets=2000,
        )
        bounds = {"id": narrative["id"], "lo": window.start, "hi": window.end}
        rows = conn.execute(_timeline_buckets(interval), {**bounds, "step": STEPS[interval]})
        rows = rows.fetchall()
        rebuttals = conn.execute(bare_sql.TIMELINE_REBUTTALS, {**bounds, "n": 1000}).fetchall()
    kinds = ("outlet", "channel", "account", "official", "other")
    languages = sorted({language for row in rows for language in row["by_language"]})
    for row in rows:
        row["by_source_kind"] = {k: row["by_source_kind"].get(k, 0) for k in kinds}
        row["by_language"] = {k: row["by_language"].get(k, 0) for k in languages}
    for rebuttal in rebuttals:
        rebuttal["bucket"] = arithmetic.bucket_start(rebuttal["published_at"], interval)
    totals = {
        "sightings": sum(row["sightings"] for row in rows),
        "by_source_kind": {k: sum(r["by_source_kind"][k] for r in rows) for k in kinds},
        "by_language": {k: sum(r["by_language"][k] for r in rows) for k in languages},
        "rebuttals": rebuttals[0].pop("in_range") if rebuttals else 0,
    }
    for rebuttal in rebuttals:
        rebuttal.pop("in_range", None)
    narrative = {"id": narrative["id"], "slug": narrative["slug"], "title": span["title"]}
    return _json(
        {
            "narrative": narrative,
            "interval": interval,
            "from": window.start,
            "to": window.end,
            "buckets": rows,
            "rebuttals": rebuttals,
            "totals": totals,
        }
    )


@app.get("/v1/stats/coverage")
def coverage() -> Response:
    limit = int(request.args.get("limit", 50))
    params = {"since": None, "tag": None}
    with pool.connection() as conn:
        rows = conn.execute(
            bare_sql.COVERAGE_PAGE,
            {**params, "k1": None, "k2": None, "after_id": None, "n": limit + 1},
        ).fetchall()
        overall = conn.execute(bare_sql.COVERAGE_OVERALL, params).fetchone()
    items = rows[:limit]
    cursor = None
    if len(rows) > limit:
        last = items[-1]
        raw = json.dumps(["coverage:unrebutted_first", last["k1"], last["k2"], str(last["id"])])
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    for item in items:
        item["latency"] = arithmetic.iso_duration(item["latency_seconds"])
    return _json({"items": items, "next_cursor": cursor, "overall": overall})


@app.post("/v1/match")
def match() -> Response:
    """The service's flow and scoring (bench/match_flow.py), no validation."""
    body = json.loads(request.get_data())
    flow = match_flow.find(
        text=body.get("text") or "",
        url=body.get("url"),
        language=body.get("language"),
        limit=body.get("limit", 5),
    )
    with pool.connection() as conn:
        return _json(match_flow.run(conn, flow))


@app.get("/readyz")
def ready() -> Response:
    with pool.connection() as conn:
        conn.execute("SELECT 1")
    return _json({"status": "ok"})


def _timeline_buckets(interval: str) -> str:
    """The statement service/repo/timeline.py `buckets` sends for `interval`."""
    return bare_sql.TIMELINE_HOUR_BUCKETS if interval == "hour" else bare_sql.TIMELINE_BUCKETS
