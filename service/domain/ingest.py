"""Recording sightings, one or a batch: the rules monitors rely on, apart from HTTP.

Monitors post in bursts and retry; so a batch is validated item by item (`load`: a bad item
is reported, never allowed to sink the others), its narratives are resolved in one query (and
held against an archive until commit), and its valid items are written with one INSERT in the
caller's transaction. The view (service/api/sightings.py) turns the outcome into a status.
"""

from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from psycopg import Connection

from service.domain import sighting_checks
from service.domain.narratives import refusal
from service.repo import narratives as narratives_repo
from service.repo import sightings as repo
from service.schemas.common import flatten
from service.schemas.sightings import MAX_BATCH, SightingIn

_ITEM = SightingIn()


def load(item: Any) -> dict[str, Any]:
    """SightingIn's load: plain checks first (service/domain/sighting_checks.py, a fifth of the
    cost), the schema for whatever they cannot vouch for, so every refusal and its messages
    are the schema's own. Raises marshmallow.ValidationError."""
    checked = sighting_checks.values(item)
    return _ITEM.load(item) if checked is None else sighting_checks.as_loaded(checked)


class Invalid(Exception):
    """A single sighting that cannot be recorded: its field errors."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


class TooMany(Exception):
    """A batch over MAX_BATCH items (refused whole, before any item is read)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"A batch holds at most {MAX_BATCH} sightings; this one has {count}.")


@dataclass
class BatchOutcome:
    """One result per item, in order: {index, status: created|duplicate|invalid, id | errors}."""

    results: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.counts["created"] + self.counts["duplicate"]

    def as_body(self) -> dict[str, Any]:
        """In SightingBatchOut's shape (tests/test_rendering.py holds the two equal)."""
        return {
            "results": self.results,
            "created": self.counts["created"],
            "duplicates": self.counts["duplicate"],
            "invalid": self.counts["invalid"],
        }


def record_one(conn: Connection, body: Any, *, by: str) -> tuple[dict[str, Any], bool]:
    """Validate and store one sighting; returns (the stored sighting, whether it is new)."""
    try:
        data = load(body)
    except ma.ValidationError as exc:
        raise Invalid(flatten(exc.messages)) from exc
    narratives = narratives_repo.resolve_many(conn, [data["narrative"]])
    problem = refusal(narratives.get(data["narrative"]), data["narrative"])
    if problem:
        raise Invalid({"narrative": [problem]})
    data["narrative_id"] = narratives[data.pop("narrative")]["id"]
    id_, created = repo.insert(conn, data, by=by)
    return repo.get(conn, id_), created  # type: ignore[return-value]


def record_batch(conn: Connection, items: list[Any], *, by: str) -> BatchOutcome:
    """Validate every item, store the valid ones with one INSERT; never raises for an item."""
    if len(items) > MAX_BATCH:
        raise TooMany(len(items))
    results: list[dict[str, Any]] = [{"index": i} for i in range(len(items))]
    valid: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(items):
        try:
            valid[index] = load(item)
        except ma.ValidationError as exc:
            results[index].update(status="invalid", errors=flatten(exc.messages))
    narratives = narratives_repo.resolve_many(
        conn, sorted({d["narrative"] for d in valid.values()})
    )
    for index, data in list(valid.items()):
        problem = refusal(narratives.get(data["narrative"]), data["narrative"])
        if problem:
            results[index].update(status="invalid", errors={"narrative": [problem]})
            del valid[index]
            continue
        data["narrative_id"] = narratives[data.pop("narrative")]["id"]
    if valid:
        stored = repo.insert_many(conn, list(valid.values()), by=by)
        for index, (id_, created) in zip(valid, stored, strict=True):
            results[index].update(status="created" if created else "duplicate", id=id_)
    counts = {"created": 0, "duplicate": 0, "invalid": 0}
    for result in results:
        counts[result["status"]] += 1
    return BatchOutcome(results, counts)
