"""The texts the `match` path sends: a fixed set of 200, made once, the same in every run and for
every app and load generator.

Each text carries one catalogue narrative (bench/vocabulary.py `match_text`): drawn at random
from the whole catalogue, in English, Russian or Ukrainian in turn, one, two or three paragraphs
(about 60, 120 or 180 words), with no language given (detected, as a newsroom tool would send
it). wrk reads them from a file, one JSON body a line (`write`); the Python generator and the
checks take them from `cases`. Each request sends the next text; the right answer has the
narrative the text was made for as its first match.
"""

import functools
import json
import random
from pathlib import Path

from bench import seed, vocabulary

COUNT = 200
LIMIT = 5
SCRIPTS = ("en", "ru", "uk")
_SEED = 2024
# Catalogue narratives the texts are drawn from (all of the benchmark's; tests seed fewer).
CATALOGUE = seed.CATALOGUE


def cases() -> list[tuple[str, bytes]]:
    """(the slug of the narrative a text carries, its request body) for every text."""
    return _cases(CATALOGUE)


@functools.cache
def _cases(catalogue: int) -> list[tuple[str, bytes]]:
    rng = random.Random(_SEED)
    made = []
    for i in range(COUNT):
        narrative = rng.randrange(len(seed.NARRATIVES), catalogue)
        # Every script with every length: en 1, ru 2, uk 3, en 2, ru 3, uk 1, ...
        script, paragraphs = SCRIPTS[i % 3], 1 + (i + i // 3) % 3
        text = vocabulary.match_text(narrative, script, rng, paragraphs)
        body = json.dumps({"text": text, "limit": LIMIT}, ensure_ascii=False)
        made.append((f"catalogue-{narrative:05d}", body.encode()))
    return made


def bodies() -> list[bytes]:
    return [body for _, body in cases()]


def write(path: Path) -> Path:
    """The bodies, one a line (JSON escapes every newline inside a text), for wrk's script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(body + b"\n" for body in bodies()))
    return path


def first_match(answer: dict, expected: str) -> str | None:
    """None if the answer's first match is the narrative `expected`, else what it holds."""
    matches = answer.get("matches") or []
    if not matches:
        return "no match"
    first = matches[0]["narrative"]["slug"]
    if first != expected:
        found = [match["narrative"]["slug"] for match in matches]
        where = f"at {found.index(expected) + 1}" if expected in found else "not among them"
        return f"first match {first} (score {matches[0]['score']}), {expected} {where}"
    return None
