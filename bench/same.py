"""Do the apps answer alike? At the start of a run, before any measurement, each path is sent
once to every app and each answer is compared with the service's: status, Content-Type,
Location and the body's bytes. A ratio between apps that answer differently compares nothing.

The reads see the same rows (every app reads the same fresh copy, and they are compared before
any write). The writes cannot: each app posts its own new sightings (tags apart, so none is a
duplicate of another's), and each answer holds values made at the time (new ids, creation
times). Those are set aside before the bytes are compared: the run's tag and every generated
value become placeholders, numbered in order of appearance, so an id in the wrong place still
differs. Everything else (member order, spacing, escapes, number and time formats) must match
byte for byte.
"""

import http.client
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench import match_texts
from bench.bodies import Requests, texts_for
from bench.paths import Path
from bench.settings import BATCH_SIZE

_GENERATED = ("id", "created_at", "updated_at")


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    location: str | None
    body: bytes


# (method, target, body, key) -> Answer: over HTTP here, in process in tests/test_bench_peer.py.
Send = Callable[[str, str, bytes | None, str], Answer]


def request_for(
    path: Path, slugs: list[str], tag: str, started: float | None = None
) -> tuple[str, str, bytes | None]:
    """The first request of `path` (as the check before each measurement sends it); every app
    is sent bodies made from the same `started` instant, so their observed times agree."""
    batch = 0 if path.sightings <= 1 else path.sightings if path.hostile_urls else BATCH_SIZE
    requests = Requests(
        path.method, path.target, slugs, tag, 0, batch, path.hostile_urls, texts_for(path)
    )
    if started is not None:
        requests.started = started
    return requests.next()


def over_http(base_url: str) -> Send:
    parts = urlsplit(base_url)

    def send(method: str, target: str, body: bytes | None, key: str) -> Answer:
        headers = {"Authorization": f"Bearer {key}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            return Answer(
                response.status,
                response.getheader("Content-Type", ""),
                response.getheader("Location"),
                response.read(),
            )
        finally:
            conn.close()

    return send


def canonical(answer: Answer, tag: str, *, write: bool) -> Answer:
    """The answer with the request's tag, and for a write every generated value, replaced by
    placeholders: `<tag>`, `<id 1>`, `<id 2>` (numbered in order of appearance, so an id in the
    wrong place still differs), `<created_at>`, `<updated_at>`. A value is replaced as a compact
    member (`"id":"..."`), so two members that happen to hold the same time stay apart: the
    database stamps each with its own clock reading, equal or not."""
    body, location = answer.body, answer.location or ""
    if write and answer.body:
        ids: dict[str, str] = {}
        for name, value in _generated(orjson.loads(answer.body)):
            mark = ids.setdefault(value, f"<id {len(ids) + 1}>") if name == "id" else f"<{name}>"
            body = body.replace(f'"{name}":"{value}"'.encode(), f'"{name}":"{mark}"'.encode())
        for value, mark in ids.items():
            location = location.replace(value, mark)
    body = body.replace(tag.encode(), b"<tag>")
    return Answer(answer.status, answer.content_type, location or None, body)


def _generated(document: Any) -> list[tuple[str, str]]:
    """(member, value) of the values a write makes: the sighting's id and times, or each
    result's id."""
    found: list[tuple[str, str]] = []
    if isinstance(document, dict):
        found += [(n, document[n]) for n in _GENERATED if isinstance(document.get(n), str)]
        for result in document.get("results") or []:
            if isinstance(result, dict) and isinstance(result.get("id"), str):
                found.append(("id", result["id"]))
    return found


def difference(reference: Answer, other: Answer) -> str | None:
    """What differs between two canonical answers, or None."""
    for name in ("status", "content_type", "location"):
        if getattr(reference, name) != getattr(other, name):
            return f"{name} {getattr(other, name)!r}, the service's {getattr(reference, name)!r}"
    if reference.body == other.body:
        return None
    at = next(
        (i for i, (a, b) in enumerate(zip(reference.body, other.body, strict=False)) if a != b),
        min(len(reference.body), len(other.body)),
    )
    start = max(0, at - 60)
    return (
        f"the body differs at byte {at} (lengths {len(other.body)}, the service's "
        f"{len(reference.body)}): {other.body[start : at + 60]!r} where the service has "
        f"{reference.body[start : at + 60]!r}"
    )


def compare(
    apps: dict[str, Send], paths: list[Path], *, keys: dict[str, str], slugs: list[str], tag: str
) -> dict[str, dict[str, str | None]]:
    """{path key: {app: what differs from the service's answer, or None}} for every app but the
    service; the reads (a match is one) first, so that every app reads the same rows."""
    found: dict[str, dict[str, str | None]] = {}
    started = time.time()
    for path in sorted(paths, key=lambda p: p.sightings > 0):
        answers = {}
        for name, send in apps.items():
            app_tag = _safe(f"{tag}-eq-{path.key}-{name}")
            method, target, body = request_for(path, slugs, app_tag, started)
            answer = send(method, target, body, keys[path.role])
            answers[name] = canonical(answer, app_tag, write=path.sightings > 0)
        found[path.key] = {
            name: difference(answers["service"], answer)
            for name, answer in answers.items()
            if name != "service"
        }
    return found


def _safe(tag: str) -> str:
    """A tag the URL normaliser leaves as it is (it lowercases some parts)."""
    return re.sub(r"[^a-z0-9-]", "", tag.lower())


@dataclass
class TextsFound:
    """What every fixed text of the `match` path got: each app's differences from the
    service's answer (the peer's in bytes, the bare app's once parsed: its JSON is spelt
    differently by design), and the texts whose narrative was not the service's first match."""

    peer: dict[int, str]
    bare: dict[int, str]
    misses: dict[int, str]


def every_text(apps: dict[str, Send], key: str) -> TextsFound:
    """Send every fixed text (bench/match_texts.py) once to every app."""
    found = TextsFound({}, {}, {})
    with ThreadPoolExecutor(len(apps)) as pool:  # the apps at once: 200 matches each
        for index, (expected, body) in enumerate(match_texts.cases()):
            sent = {
                n: pool.submit(send, "POST", "/v1/match", body, key) for n, send in apps.items()
            }
            _compare_text(found, index, expected, {n: f.result() for n, f in sent.items()})
    return found


def _compare_text(found: TextsFound, index: int, expected: str, answers: dict[str, Answer]) -> None:
    reference = answers["service"]
    if "peer" in answers:
        what = difference(reference, answers["peer"])
        if what:
            found.peer[index] = what
    if "bare" in answers and (
        answers["bare"].status != reference.status
        or orjson.loads(answers["bare"].body) != orjson.loads(reference.body)
    ):
        found.bare[index] = "a different answer once parsed"
    if reference.status != 200:
        found.misses[index] = f"status {reference.status}"
        return
    miss = match_texts.first_match(orjson.loads(reference.body), expected)
    if miss:
        found.misses[index] = miss
