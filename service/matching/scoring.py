"""From phrase hits to calibrated narrative scores.

A *hit* is one stored phrasing of a narrative (title, alias, keyword, summary, sighting quote)
that shares lexemes with the text. Each hit gets a strength in 0..1:

    strength = kind weight * coverage^2 * specificity

- *kind weight*: an alias or title names the claim; a keyword is a search term; a summary is
  descriptive prose that neutral reporting shares; a quote is one sighting's words.
- *coverage*: the share of the phrase's lexemes found in the text, each weighted by its IDF
  (lexemes the text lacks count as fully specific: we do not know better). Squared, so that half
  a phrase is much weaker evidence than the whole.
- *specificity*: the IDF of the most specific lexeme that hit, from the number of narratives
  whose phrases hold it: a word that every Crocus narrative carries ("Crocus City Hall") says
  little about which one a text carries. Lexemes that the database's statistics find in very
  many phrases are dropped from the search and count as no evidence.
- Long phrases (summaries, quotes) are measured against at most LONG_PHRASE lexemes: a text that
  repeats a dozen of a summary's specific words carries it, though the summary has forty.

A narrative's evidence adds its hits with diminishing returns (1, 1/2, 1/4, ...: independent
phrasings that all occur are stronger than one), and the logistic squashes that into a score
with MIDPOINT at 0.5: a single whole alias made of specific words scores about 0.9, a shared
topical keyword alone about 0.2. A sighting recorded at the very URL asked about is near
certainty whatever the text says (URL_SCORE).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

KIND_WEIGHT = {"alias": 1.0, "title": 1.0, "quote": 0.9, "keyword": 0.6, "summary": 0.5}
# Phrasings of the claim itself; keywords and summaries name its topic, which neutral reporting
# shares, so together they may support a claim but never reach MIDPOINT alone.
CLAIM_KINDS = frozenset({"alias", "title", "quote"})
SUPPORT_CAP = 0.35
COVERAGE_POWER = 4
LONG_PHRASE = 12
# Below this coverage a hit's strength is under 0.2 % (coverage^4): the SQL leaves such phrases
# behind rather than send and score them (service/repo/match.py). On the evaluation corpus the
# ranks are those of no cut at all; at 0.3 noise-level hits that still ordered the top three
# went missing.
MIN_COVERAGE = 0.2
MIDPOINT = 0.5
STEEPNESS = 9.0
DECAY = 0.5
URL_SCORE = 0.97
MAX_EVIDENCE = 5


@dataclass
class Hit:
    """One phrase that shares lexemes with the text."""

    phrase_id: int
    narrative_id: object
    kind: str
    text: str | None  # None until shown: the caller fills `text` in from `phrase_id`
    language: str
    sighting_id: object
    size: int  # the phrase's distinct lexemes
    matched: list[str]  # those the text holds
    similarity: float | None = None  # trigram similarity, for short texts
    terms_held: dict[str, int] | None = None  # for trigram hits: each phrase lexeme's narratives

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Hit":
        """A row of the phrase queries (service/repo/match.py), which name the fields alike."""
        return cls(**{name: row[name] for name in _HIT_FIELDS})


_HIT_FIELDS = tuple(f.name for f in fields(Hit))


@dataclass
class Match:
    narrative_id: object
    score: float
    evidence: list[dict] = field(default_factory=list)
    total: float = 0.0  # the evidence before squashing: orders matches whose scores round equal
    first: int = 0  # the oldest phrase that hit: a stable order for matches tied on evidence


def idf(narratives_with_term: int, narratives: int) -> float:
    """Specificity of a lexeme in 0..1: 1 when one narrative holds it, small when all do."""
    narratives = max(narratives, 1)
    held = min(max(narratives_with_term, 1), narratives)
    return math.log1p(narratives / held) / math.log1p(narratives)


def strength(hit: Hit, weights: dict[str, float]) -> float:
    """The evidence one hit gives, 0..1 (see the module's docstring)."""
    matched = [weights.get(term, 1.0) for term in hit.matched]
    missing = max(hit.size - len(matched), 0)
    if hit.kind in ("summary", "quote"):
        missing = min(missing, max(LONG_PHRASE - len(matched), 0))
    found = sum(matched)
    coverage = found / (found + missing) if found + missing > 0 else 0.0
    specificity = max(matched, default=0.0)
    lexical = coverage**COVERAGE_POWER * specificity
    if hit.similarity is not None:
        # A misspelt short phrase: trigram similarity stands in for coverage, and the
        # specificity is that of the phrase's own lexemes.
        own = max((weights.get(term, 1.0) for term in hit.terms_held or ()), default=1.0)
        lexical = max(lexical, hit.similarity * own)
    return KIND_WEIGHT.get(hit.kind, 0.5) * lexical


def squash(evidence: float) -> float:
    return 1.0 / (1.0 + math.exp(-STEEPNESS * (evidence - MIDPOINT)))


def rank(
    hits: Iterable[Hit],
    *,
    narratives: int,
    common: Iterable[str] = (),
    url_hits: Iterable[dict] = (),
    held: dict[str, int] | None = None,
) -> list[Match]:
    """Narratives by score, best first. `narratives` is how many can match (for IDF); `common`
    are the lexemes too frequent to count; `url_hits` are sightings at the asked URL; `held`
    counts the narratives holding each matched lexeme, when the hits are not all of them."""
    hits = list(hits)
    if held is None:
        holders: dict[str, set] = {}
        for hit in hits:
            for term in hit.matched:
                holders.setdefault(term, set()).add(hit.narrative_id)
        held = {term: len(ids) for term, ids in holders.items()}
    weights = {term: idf(count, narratives) for term, count in held.items()}
    for hit in hits:
        for term, held in (hit.terms_held or {}).items():
            weights.setdefault(term, idf(held, narratives))
    weights.update(dict.fromkeys(common, 0.0))

    best: dict[int, tuple[float, Hit]] = {}
    for hit in hits:
        value = strength(hit, weights)
        if value > best.get(hit.phrase_id, (0.0, hit))[0]:
            best[hit.phrase_id] = (value, hit)
    by_narrative: dict[object, list[tuple[float, Hit]]] = {}
    for value, hit in best.values():
        by_narrative.setdefault(hit.narrative_id, []).append((value, hit))

    matches: dict[object, Match] = {}
    for narrative_id, scored in by_narrative.items():
        scored.sort(key=lambda pair: (-pair[0], pair[1].phrase_id))
        scored = _distinct(scored)
        claims = [value for value, hit in scored if hit.kind in CLAIM_KINDS]
        support = [value for value, hit in scored if hit.kind not in CLAIM_KINDS]
        total = _decayed(claims) + min(_decayed(support), SUPPORT_CAP)
        matches[narrative_id] = Match(
            narrative_id,
            round(squash(total), 4),
            [_evidence(hit) for _, hit in scored[:MAX_EVIDENCE]],
            total,
            min(hit.phrase_id for _, hit in scored),
        )
    for row in url_hits:
        match = matches.setdefault(row["narrative_id"], Match(row["narrative_id"], 0.0))
        match.score = max(match.score, URL_SCORE)
        match.evidence.insert(
            0,
            {
                "kind": "url",
                "text": row["url"],
                "language": row["language"],
                "sighting_id": row["sighting_id"],
            },
        )
        del match.evidence[MAX_EVIDENCE:]
    return sorted(matches.values(), key=lambda m: (-m.score, -m.total, m.first))


def _decayed(values: list[float]) -> float:
    return sum(value * DECAY**index for index, value in enumerate(values))


def _distinct(scored: list[tuple[float, Hit]]) -> list[tuple[float, Hit]]:
    """One hit per phrasing: the same words stored as alias and as keyword are one piece of
    evidence, not two."""
    seen: set[object] = set()
    kept = []
    for value, hit in scored:
        keys = {
            hit.text.strip().lower() if hit.text else None,
            frozenset(hit.matched) if hit.matched else None,
        }
        if not keys & seen:
            seen |= keys - {None}
            kept.append((value, hit))
    return kept


def phrases_without_text(evidence: list[dict]) -> list[int]:
    """The phrases whose texts the shown evidence still needs (candidates come without)."""
    return [item["phrase_id"] for item in evidence if item.get("text") is None]


def fill_texts(evidence: list[dict], texts: dict[int, str]) -> None:
    """Put the phrases' texts into the evidence, and drop the phrase ids it carried."""
    for item in evidence:
        phrase_id = item.pop("phrase_id", None)
        if item.get("text") is None:
            item["text"] = texts.get(phrase_id, "")


def _evidence(hit: Hit) -> dict:
    item = {
        "kind": hit.kind,
        "text": hit.text,
        "language": hit.language,
        "phrase_id": hit.phrase_id,
    }
    if hit.sighting_id is not None:
        item["sighting_id"] = hit.sighting_id
    return item
