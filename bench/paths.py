"""The measured paths: what each request is, which key sends it, and what a right answer is."""

from dataclasses import dataclass

from bench.hostile import HOSTILE_BATCH
from bench.settings import BATCH_SIZE, PAGE_LIMIT


@dataclass(frozen=True)
class Path:
    key: str  # short name, used in the JSON results
    title: str  # as the table prints it
    method: str
    target: str  # a "{slug}" takes each seeded narrative in turn
    script: str  # under bench/lua/
    role: str  # the key role that sends it
    expect: int  # the status every response must have
    sightings: int = 0  # sightings written per request
    hostile_urls: bool = False  # URLs as costly as the limits allow (bench/hostile.py)
    # What a right answer holds (bench/python_load.py, check): "page", a full page of items;
    # "timeline", buckets with sightings in them; "coverage", a full page of narratives ranked,
    # with the overall figures; "match", the narrative the text was made for as the first match
    # (the bodies are bench/match_texts.py's, each request the next).
    shape: str = "page"


PATHS = (
    Path(
        "post_one",
        "POST /v1/sightings (one)",
        "POST",
        "/v1/sightings",
        "post_one.lua",
        "monitor",
        201,
        sightings=1,
    ),
    Path(
        "post_batch",
        f"POST /v1/sightings (batch of {BATCH_SIZE})",
        "POST",
        "/v1/sightings",
        "post_batch.lua",
        "monitor",
        200,
        sightings=BATCH_SIZE,
    ),
    Path(
        "post_hostile",
        f"POST hostile batch ({HOSTILE_BATCH} costly URLs)",
        "POST",
        "/v1/sightings",
        "post_hostile.lua",
        "monitor",
        200,
        sightings=HOSTILE_BATCH,
        hostile_urls=True,
    ),
    Path(
        "get_rebuttals",
        "GET /v1/narratives/{slug}/rebuttals",
        "GET",
        "/v1/narratives/{slug}/rebuttals",
        "get.lua",
        "reader",
        200,
    ),
    Path(
        "get_sightings",
        f"GET /v1/sightings?limit={PAGE_LIMIT}",
        "GET",
        f"/v1/sightings?limit={PAGE_LIMIT}",
        "get.lua",
        "reader",
        200,
    ),
)

PATHS += (
    Path(
        "get_timeline",
        "GET /v1/narratives/{slug}/timeline?interval=day",
        "GET",
        "/v1/narratives/{slug}/timeline?interval=day",
        "get.lua",
        "reader",
        200,
        shape="timeline",
    ),
    Path(
        "get_coverage",
        f"GET /v1/stats/coverage?limit={PAGE_LIMIT}",
        "GET",
        f"/v1/stats/coverage?limit={PAGE_LIMIT}",
        "get.lua",
        "reader",
        200,
        shape="coverage",
    ),
)

PATHS += (
    Path(
        "match",
        "POST /v1/match (1-3 paragraphs)",
        "POST",
        "/v1/match",
        "post_match.lua",
        "reader",
        200,
        shape="match",
    ),
)

BY_KEY = {path.key: path for path in PATHS}
