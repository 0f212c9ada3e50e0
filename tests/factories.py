"""Test data as the API accepts it. Each factory returns a valid request body; keyword
arguments override fields. `create_*` post it through the test client and return the response
body, so tests arrange data the way clients do."""

import itertools
from typing import Any

from flask.testing import FlaskClient

_seq = itertools.count(1)


def narrative_body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "slug": f"narrative-{n}",
        "title": f"Narrative {n}",
        "summary": "Claims that something happened which did not.",
        "aliases": [{"text": f"нарратив {n}", "language": "ru"}],
        "keywords": ["window"],
        "tags": ["crocus-city-hall-attack"],
    }
    body.update(overrides)
    return body


def sighting_body(narrative: str, **overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "narrative": narrative,
        "observed_at": f"2024-03-{(n % 28) + 1:02d}T12:00:00Z",
        "url": f"https://outlet.example/articles/{n}",
        "source": {"name": "SHOT", "kind": "outlet"},
        "actor": {"name": "Nikolai Patrushev", "role": "Secretary of the Security Council"},
        "quote": "Конечно, Украина",
        "language": "ru",
        "country": "RU",
    }
    body.update(overrides)
    return body


def rebuttal_body(narratives: list[str], **overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "narratives": narratives,
        "issuer": {
            "name": "Mykhailo Podolyak",
            "role": "Adviser to the Head of the Office of the President",
            "organization": "Office of the President of Ukraine",
            "country": "UA",
            "kind": "government",
        },
        "verdict": "false",
        "statement": "The lies are officially spread by Patrushev.",
        "url": f"https://statements.example/{n}",
        "published_at": f"2024-03-{(n % 28) + 1:02d}T15:00:00Z",
        "language": "en",
    }
    body.update(overrides)
    return body


def _created(client: FlaskClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_narrative(client: FlaskClient, **overrides: Any) -> dict[str, Any]:
    return _created(client, "/v1/narratives", narrative_body(**overrides))


def create_sighting(client: FlaskClient, narrative: str, **overrides: Any) -> dict[str, Any]:
    return _created(client, "/v1/sightings", sighting_body(narrative, **overrides))


def create_rebuttal(client: FlaskClient, narratives: list[str], **overrides: Any) -> dict[str, Any]:
    return _created(client, "/v1/rebuttals", rebuttal_body(narratives, **overrides))
