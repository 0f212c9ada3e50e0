"""Shared by the hostile-input tests (test_hostile_sizes_and_encodings.py,
test_hostile_injection_and_traversal.py): the Probe that checks every answer against the
universal rules and keeps the figures, valid bodies to corrupt, and the text fields to aim at.
Their fixtures (`live`, `records`, `tables_survive`) are in conftest.py.

The rule everywhere: a documented 4xx as `application/problem+json`, never a 5xx, never HTML,
never a hang; text that is valid is stored literally and returned exactly (JSON-escaped, as
`application/json`); and the tables are all still there afterwards.
"""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any

from reliability.figures import FIGURES
from reliability.harness import Gunicorn, Response
from service import config

SECTION = "hostile input"
CAP = config.Settings().MAX_CONTENT_LENGTH  # 2 MiB
SLOW = 10.0  # seconds: any answer slower than this is a hang

TABLES = (
    "narratives",
    "narrative_aliases",
    "sightings",
    "rebuttals",
    "rebuttal_narratives",
    "api_keys",
    "audit_log",
    "idempotency_keys",
)


class Probe:
    """Sends requests and keeps score: every answer is checked against the universal rules."""

    def __init__(self, server: Gunicorn) -> None:
        self.server = server
        self.sent = 0
        self.server_errors = 0
        self.problems: list[str] = []

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict | None = None,
        *,
        expect: set[int] | int | None = None,
        label: str = "",
    ) -> Response | None:
        label = label or f"{method} {path[:120]}"
        self.sent += 1
        wanted = {expect} if isinstance(expect, int) else expect
        try:
            response = self.server.request(method, path, body, headers, timeout=30)
        except (BrokenPipeError, ConnectionResetError) as error:
            # Refusing an oversized body can mean answering 413 and closing before the client
            # has finished sending; the client then sees the closed socket, not the answer.
            if wanted and 413 in wanted:
                return None
            self.problems.append(f"{label}: no answer ({type(error).__name__}: {error})")
            return None
        except (OSError, http.client.HTTPException) as error:
            self.problems.append(f"{label}: no answer ({type(error).__name__}: {error})")
            return None
        if response.status >= 500:
            self.server_errors += 1
        if wanted is not None and response.status not in wanted:
            self.problems.append(f"{label}: expected {sorted(wanted)}, got {response.describe()}")
        elif response.status >= 500:
            self.problems.append(f"{label}: {response.describe()}")
        if response.status >= 400 and response.content_type != "application/problem+json":
            self.problems.append(f"{label}: {response.status} as {response.content_type!r}")
        if response.status < 400 and response.body and response.content_type != "application/json":
            self.problems.append(f"{label}: {response.status} as {response.content_type!r}")
        if response.elapsed > SLOW:
            self.problems.append(f"{label}: took {response.elapsed:.1f}s")
        if response.body and response.content_type.endswith("json"):
            try:
                response.json()
            except ValueError:
                self.problems.append(f"{label}: body is not valid JSON: {response.body[:200]!r}")
        return response

    def verdict(self, what: str) -> None:
        FIGURES.add(SECTION, "requests sent", self.sent)
        FIGURES.add(SECTION, "5xx", self.server_errors)
        FIGURES.add(SECTION, "violations", len(self.problems))
        assert not self.problems, f"{what}: {len(self.problems)} violations:\n" + "\n".join(
            self.problems[:60]
        )


def _unique() -> str:
    return uuid.uuid4().hex[:10]


def _narrative(**fields: Any) -> dict[str, Any]:
    return {
        "slug": f"hostile-{_unique()}",
        "title": "Hostile narrative",
        "summary": "A summary.",
        "aliases": [{"text": "враждебный", "language": "ru"}],
        "keywords": ["hostile"],
        "tags": ["hostile-input"],
        **fields,
    }


def _sighting(narrative: str, **fields: Any) -> dict[str, Any]:
    return {
        "narrative": narrative,
        "observed_at": "2024-03-26T12:00:00Z",
        "url": f"https://hostile.example/{_unique()}",
        "source": {"name": "Hostile outlet", "kind": "outlet"},
        "actor": {"name": "Some Speaker", "role": "Spokesperson"},
        "quote": "A quote.",
        "language": "ru",
        "country": "RU",
        "external_id": f"hostile-{_unique()}",
        "confidence": 0.5,
        **fields,
    }


def _rebuttal(narrative: str, **fields: Any) -> dict[str, Any]:
    return {
        "narratives": [narrative],
        "issuer": {
            "name": "An Official",
            "role": "Minister",
            "organization": "A Ministry",
            "country": "UA",
            "kind": "government",
        },
        "verdict": "false",
        "statement": "A statement.",
        "url": f"https://hostile.example/statement/{_unique()}",
        "published_at": "2024-03-26T15:00:00Z",
        "language": "en",
        **fields,
    }


def _body_endpoints(records: dict[str, str]) -> list[tuple[str, str]]:
    """Every operation that reads a JSON body."""
    return list(dict.fromkeys((method, path) for method, path, _, _ in _valid_bodies(records)))


def _valid_bodies(records: dict[str, str]) -> list[tuple[str, str, dict, str]]:
    """(method, path, a valid body, one of its free-text fields) for every body operation."""
    target = records["narrative"]
    return [
        ("POST", "/v1/narratives", _narrative(), "title"),
        ("PATCH", f"/v1/narratives/{target}", {"summary": "s"}, "summary"),
        ("POST", "/v1/sightings", _sighting(target), "quote"),
        ("POST", "/v1/sightings", {"sightings": [_sighting(target)]}, "sightings.0.quote"),
        ("PATCH", f"/v1/sightings/{records['sighting']}", {"quote": "q"}, "quote"),
        ("POST", "/v1/rebuttals", _rebuttal(target), "statement"),
        ("PATCH", f"/v1/rebuttals/{records['rebuttal']}", {"statement": "s"}, "statement"),
        ("POST", "/v1/keys", {"name": f"k-{_unique()}", "role": "reader"}, "name"),
    ]


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of body with the dotted path (list indexes as numbers) set to value."""
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    node: Any = copy
    for part in parents:  # an absent optional object (reported_in) is made on the way
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return copy


def _get(body: Any, path: str) -> Any:
    for part in path.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


NARRATIVE_TEXT = ["title", "summary", "aliases.0.text", "keywords.0"]
NARRATIVE_OTHER = ["slug", "tags.0", "aliases.0.language", "parent"]
SIGHTING_TEXT = [
    "quote",
    "source.name",
    "actor.name",
    "actor.role",
    "external_id",
    "reported_in.name",
]
SIGHTING_OTHER = [
    "narrative",
    "url",
    "language",
    "country",
    "observed_at",
    "source.kind",
    "reported_in.url",
]
REBUTTAL_TEXT = ["statement", "issuer.name", "issuer.role", "issuer.organization"]
REBUTTAL_OTHER = [
    "narratives.0",
    "url",
    "language",
    "issuer.country",
    "issuer.kind",
    "verdict",
    "published_at",
]
