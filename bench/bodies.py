"""Request bodies in Python, the same shapes bench/lua/common.lua makes (and the fixed texts
bench/lua/post_match.lua reads): for the check that runs before each measurement and for the
Python load generator."""

import json
import time
from typing import Any

from bench import hostile, match_texts
from bench.paths import Path

_QUOTE = "Запад скрывает правду о том, что на самом деле происходит в этих лабораториях."  # noqa: RUF001 - Russian, as monitors post it
_YEAR = 31_536_000
TEXT_STRIDE = 37  # how far apart in the fixed bodies successive threads start


def texts_for(path: Path) -> list[bytes] | None:
    """The fixed bodies `path` sends in turn, or None when its bodies are made per request."""
    return match_texts.bodies() if path.shape == "match" else None


def item(slugs: list[str], run: str, thread: int, n: int, started: float) -> dict[str, Any]:
    """One new sighting; the URL and external_id are unique per (run, thread, n)."""
    id_ = f"{run}-{thread}-{n}"
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started - (n * 7919) % _YEAR))
    return {
        "narrative": slugs[n % len(slugs)],
        "observed_at": at,
        "url": f"https://news.example.org/2025/{id_}?utm_source=telegram&page=1",
        "source": {"name": f"Channel {n % 50}", "kind": "channel"},
        "actor": {"name": "Maria Zakharova", "role": "Spokesperson"},
        "quote": _QUOTE,
        "language": "ru",
        "country": "RU",
        "external_id": id_,
        "confidence": 0.8,
    }


class Requests:
    """Successive requests (method, target, body) for one path and one client thread."""

    def __init__(
        self,
        method: str,
        target: str,
        slugs: list[str],
        run: str,
        thread: int,
        batch: int = 0,
        hostile_urls: bool = False,
        texts: list[bytes] | None = None,
    ) -> None:
        self.method, self.target, self.slugs = method, target, slugs
        self.run, self.thread, self.batch = run, thread, batch
        self.hostile_urls = hostile_urls
        self.texts = texts
        self.started = time.time()
        self.n = 0

    def _item(self) -> dict[str, Any]:
        self.n += 1
        body = item(self.slugs, self.run, self.thread, self.n, self.started)
        if self.hostile_urls:
            body["url"] = hostile.url(body["external_id"], self.n)
        return body

    def next(self) -> tuple[str, str, bytes | None]:
        if self.texts:
            # The next fixed body; each thread starts elsewhere in the set (as post_match.lua).
            self.n += 1
            index = (self.n - 1 + self.thread * TEXT_STRIDE) % len(self.texts)
            return self.method, self.target, self.texts[index]
        if self.method == "GET":
            self.n += 1
            return "GET", self.target.replace("{slug}", self.slugs[self.n % len(self.slugs)]), None
        if self.batch:
            body: Any = {"sightings": [self._item() for _ in range(self.batch)]}
        else:
            body = self._item()
        return self.method, self.target, json.dumps(body, ensure_ascii=False).encode()
