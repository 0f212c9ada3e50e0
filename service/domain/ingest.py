"""POST /v1/sightings, one or many: validation item by item, then one set-based write.

Monitors post in bursts and retry; so a batch is validated per item (a bad item is reported,
never allowed to sink the others), its narratives are resolved in one query, and its valid items
are written with one INSERT in one transaction.
"""

from typing import Any

import marshmallow as ma
from flask import Response, jsonify
from flask_smorest import abort

from service import db
from service.api.lookups import narrative_problem
from service.repo import narratives as narratives_repo
from service.repo import sightings as repo
from service.schemas.sightings import (
    MAX_BATCH,
    SightingCreated,
    SightingIn,
)
from service.web import auth, metrics
from service.web.jsonio import rows_response
from service.web.problems import flatten

_ITEM = SightingIn()
_CREATED = SightingCreated()


def one(body: Any) -> Response:
    try:
        data = _ITEM.load(body)
    except ma.ValidationError as exc:
        metrics.record_ingest(invalid=1)
        abort(422, errors=flatten(exc.messages), kind="validation")
    with db.transaction() as conn:
        narratives = narratives_repo.resolve_many(conn, [data["narrative"]])
        problem = narrative_problem(narratives.get(data["narrative"]), data["narrative"])
        if problem:
            abort(422, message=problem, errors={"narrative": [problem]}, kind="validation")
        data["narrative_id"] = narratives[data.pop("narrative")]["id"]
        id_, created = repo.insert(conn, data, by=auth.current_key_name())
        sighting = repo.get(conn, id_)
    sighting["duplicate"] = not created
    metrics.record_ingest(created=int(created), duplicate=int(not created))
    response = jsonify(_CREATED.dump(sighting))
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/sightings/{id_}"
    return response


def batch(body: dict[str, Any]) -> Response:
    items = _envelope(body)
    results: list[dict[str, Any]] = [{"index": i} for i in range(len(items))]
    valid: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(items):
        try:
            valid[index] = _ITEM.load(item)
        except ma.ValidationError as exc:
            results[index].update(status="invalid", errors=flatten(exc.messages))
    with db.transaction() as conn:
        narratives = narratives_repo.resolve_many(
            conn, sorted({d["narrative"] for d in valid.values()})
        )
        for index, data in list(valid.items()):
            problem = narrative_problem(narratives.get(data["narrative"]), data["narrative"])
            if problem:
                results[index].update(status="invalid", errors={"narrative": [problem]})
                del valid[index]
                continue
            data["narrative_id"] = narratives[data.pop("narrative")]["id"]
        if valid:
            stored = repo.insert_many(conn, list(valid.values()), by=auth.current_key_name())
            for index, (id_, created) in zip(valid, stored, strict=True):
                results[index].update(status="created" if created else "duplicate", id=id_)
    counts = {"created": 0, "duplicate": 0, "invalid": 0}
    for result in results:
        counts[result["status"]] += 1
    metrics.record_ingest(**counts)
    # Already in SightingBatchOut's shape (tests/test_rendering.py holds the two equal).
    outcome = {
        "results": results,
        "created": counts["created"],
        "duplicates": counts["duplicate"],
        "invalid": counts["invalid"],
    }
    if not valid:
        errors = {
            f"sightings.{r['index']}.{field}": messages
            for r in results
            for field, messages in r["errors"].items()
        }
        abort(
            422,
            message="No item of the batch is valid.",
            errors=errors,
            kind="validation",
            extensions=outcome,
        )
    return rows_response(outcome, 207 if counts["invalid"] else 200)


def _envelope(body: dict[str, Any]) -> list[Any]:
    unknown = sorted(set(body) - {"sightings"})
    if unknown:
        abort(422, errors={name: ["Unknown field."] for name in unknown}, kind="validation")
    items = body["sightings"]
    if not isinstance(items, list):
        abort(422, errors={"sightings": ["Must be a list of sightings."]}, kind="validation")
    if not items:
        abort(422, errors={"sightings": ["Must hold at least one sighting."]}, kind="validation")
    if len(items) > MAX_BATCH:
        abort(
            413,
            message=f"A batch holds at most {MAX_BATCH} sightings; this one has {len(items)}.",
            kind="batch-too-large",
        )
    return items
