"""Demo data: narratives, sightings and rebuttals around the March 2024 Crocus City Hall attack,
taken from the seed articles. Loaded through the API's own schemas and repo functions, so demo
data obeys every rule real data does."""

import json
from importlib import resources
from typing import Any

from psycopg import Connection

from service.repo import narratives, rebuttals, sightings
from service.schemas.narratives import NarrativeIn
from service.schemas.rebuttals import RebuttalIn
from service.schemas.sightings import SightingIn

DEMO_KEY = "demo-loader"


def dataset(name: str = "crocus") -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text("utf-8"))


def load(conn: Connection, name: str = "crocus") -> dict[str, int]:
    """Insert the dataset into an empty database; does nothing if any narrative exists.

    Returns how many records of each kind were inserted.
    """
    if narratives.count(conn) > 0:
        return {"narratives": 0, "sightings": 0, "rebuttals": 0}
    data = dataset(name)
    ids: dict[str, Any] = {}
    for item in NarrativeIn(many=True).load(data["narratives"]):
        parent = item.pop("parent")
        item["parent_id"] = ids[parent] if parent else None
        ids[item["slug"]] = narratives.insert(conn, item, by=DEMO_KEY)
    for item in SightingIn(many=True).load(data["sightings"]):
        item["narrative_id"] = ids[item.pop("narrative")]
        sightings.insert(conn, item, by=DEMO_KEY)
    for item in RebuttalIn(many=True).load(data["rebuttals"]):
        rebuttals.insert(conn, item, [ids[ref] for ref in item["narratives"]], by=DEMO_KEY)
    return {kind: len(data[kind]) for kind in ("narratives", "sightings", "rebuttals")}
