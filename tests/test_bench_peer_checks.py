"""The benchmark's peer (bench/peer_app.py) must refuse what the service refuses and load what it
loads, or the service/peer ratios compare different work: its pydantic models against the
service's marshmallow schemas, item by item, on the edges of every field. No database."""

from typing import Any

import marshmallow as ma
import pydantic
import pytest

from bench import hostile, peer_models
from service.schemas.match import MatchIn
from service.schemas.sightings import SightingIn
from tests.test_url_limits import AT_THE_LIMIT, TOO_MUCH

_SIGHTING = {
    "narrative": "biolabs-in-ukraine",
    "observed_at": "2024-03-26T12:00:00Z",
    "source": {"name": "SHOT", "kind": "channel"},
    "language": "ru",
}


def _loaded(schema: Any, body: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return schema(body)
    except (ma.ValidationError, pydantic.ValidationError):
        return None


_EDGES: list[dict[str, Any]] = [
    {},
    {"confidence": 1},
    {"confidence": 0.25},
    {"confidence": True},
    {"confidence": "0.5"},
    {"confidence": 1.5},
    {"confidence": -0.1},
    {"narrative": {"id": "0b3a6c1e-1111-4c4c-9a9a-0123456789ab", "slug": "x"}},
    {"narrative": {"slug": "by-slug"}},
    {"narrative": {"slug": 5}},
    {"narrative": {}},
    {"narrative": None},
    {"narrative": "n" * 101},
    {"narrative": 7},
    {"observed_at": "2024-03-26T12:00:00.123456789+02:00"},
    {"observed_at": "2024-03-26t12:00:00Z"},
    {"observed_at": "2024-03-26T12:00:00"},
    {"observed_at": "2024-02-30T12:00:00Z"},
    {"observed_at": "1899-12-31T23:00:00-02:00"},
    {"observed_at": "2201-01-01T00:00:00Z"},
    {"observed_at": 1711454400},
    {"url": "https://a.example/x?utm_source=telegram&b=2&a=1#frag"},
    {"url": "  https://a.example/padded  "},
    {"url": "ftp://a.example/x"},
    {"url": "https://user:pw@a.example/"},
    {"url": "https://a.example/\x01"},
    {"url": ""},
    {"url": None},
    {"url": "https://a.example/" + "x" * 2100},
    {"reported_in": {"name": "DW"}},
    {"reported_in": {"name": "DW", "url": "https://dw.example/a"}},
    {"reported_in": {"url": "https://dw.example/a"}},
    {"reported_in": {"name": "DW", "extra": 1}},
    {"source": {"name": "a", "kind": "blog"}},
    {"source": {"name": "", "kind": "outlet"}},
    {"source": {"name": "a", "kind": "outlet", "x": 1}},
    {"source": "SHOT"},
    {"actor": {"name": "Maria Zakharova"}},
    {"actor": {"name": "M", "role": None}},
    {"actor": {"role": "Spokesperson"}},
    {"actor": None},
    {"quote": ""},
    {"quote": "q" * 10000},
    {"quote": "q" * 10001},
    {"quote": "nul \x00 inside"},
    {"quote": "lone \ud800 surrogate"},
    {"language": "e"},
    {"language": "en-"},
    {"language": "zh-Hant-TW"},
    {"language": "en\n"},
    {"country": "ru"},
    {"country": "ß"},
    {"country": "RUS"},
    {"external_id": ""},
    {"external_id": 1},
    {"external_id": "e" * 200},
    {"external_id": "e" * 201},
    {"unknown_field": 1},
    *({"url": url} for url in (*TOO_MUCH.values(), *AT_THE_LIMIT.values())),
    *({"url": hostile.url(f"h-{n}", n)} for n in range(4)),
]


@pytest.mark.parametrize("change", _EDGES)
def test_the_peer_validates_a_sighting_as_the_service_does(change):
    body = {**_SIGHTING, **change}
    by_service = _loaded(SightingIn().load, body)
    by_peer = _loaded(lambda b: peer_models.SightingIn.model_validate(b).model_dump(), body)
    assert by_peer == by_service


def _matched(schema: Any, body: dict[str, Any]) -> tuple[Any, ...] | None:
    """The arguments find() is called with, or None when the body is refused."""
    try:
        data = schema(body)
    except (ma.ValidationError, pydantic.ValidationError):
        return None
    return data.get("text") or "", data.get("url"), data.get("language"), data["limit"]


_MATCH_EDGES: list[dict[str, Any]] = [
    {},
    {"text": ""},
    {"text": " \n\t"},
    {"text": None},
    {"text": 42},
    {"text": "x" * (100 * 1024)},
    {"text": "x" * (100 * 1024 + 1)},
    {"text": "ж" * (50 * 1024)},
    {"text": "ж" * (50 * 1024 + 1)},  # under 100 K characters, over 100 KB
    {"text": "a\x00b"},
    {"text": "lone \ud800 surrogate"},
    {"text": "", "url": "https://a.example/x?utm_source=t"},
    {"url": "  https://a.example/padded  "},
    {"url": ""},
    {"url": None},
    {"text": "x", "url": None},
    {"url": "ftp://a.example/x"},
    {"url": "http://[::1"},
    {"text": "x", "language": "ru-RU"},
    {"text": "x", "language": "xx-not a tag!"},
    {"text": "x", "language": ""},
    {"text": "x", "language": "\x00"},
    {"text": "x", "language": "r" * 100},
    {"text": "x", "language": "r" * 101},
    {"text": "x", "language": 7},
    {"text": "x", "language": None},
    {"text": "x", "limit": 0},
    {"text": "x", "limit": 1},
    {"text": "x", "limit": 20},
    {"text": "x", "limit": 21},
    {"text": "x", "limit": "5"},
    {"text": "x", "limit": True},
    {"text": "x", "limit": 2.5},
    {"text": "x", "limit": 5.0},
    {"text": "x", "limit": None},
    {"text": "x", "lang": "ru"},
    {"text": "x", "unknown_field": 1},
]


@pytest.mark.parametrize("body", _MATCH_EDGES)
def test_the_peer_validates_a_match_as_the_service_does(body):
    by_service = _matched(MatchIn().load, body)
    by_peer = _matched(lambda b: peer_models.MatchIn.model_validate(b).model_dump(), body)
    assert by_peer == by_service
