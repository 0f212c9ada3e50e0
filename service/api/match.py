"""/v1/match: which known narratives a text or a link carries, and what was said against them."""

from typing import Any

from flask.views import MethodView
from psycopg import Connection

from service import db
from service.api.blueprint import Blueprint
from service.domain import urls
from service.matching import language as languages
from service.matching import pruning, scoring
from service.matching.lemmas import lemmatize_uk
from service.matching.periodic import Periodic
from service.repo import match as repo
from service.repo import rebuttals as rebuttals_repo
from service.schemas.match import MatchIn, MatchResult, MatchUrlQuery
from service.web.jsonio import rows_response

REBUTTALS_PER_MATCH = 5
# Texts this short are also compared by trigrams with the short phrasings (misspellings).
SHORT_TEXT = 200
FUZZY_THRESHOLD = 0.4
# A link's answer changes only when someone records a sighting: a short private cache is safe.
CACHE_CONTROL = "private, max-age=60"
POPULATION_SECONDS = 60.0

blp = Blueprint(
    "match",
    __name__,
    url_prefix="/v1/match",
    description="Which known narratives a text or a link carries, with the rebuttals of them.",
)


@blp.route("")
class Match(MethodView):
    @blp.requires("reader")
    @blp.arguments(MatchIn)
    @blp.response(200, MatchResult)
    def post(self, data: dict[str, Any]):
        """Match a text, a link, or both.

        Scores are calibrated: 0.5 and above means the text probably carries the narrative.
        Nothing is written."""
        with db.connection() as conn:
            result = find(
                conn,
                text=data.get("text") or "",
                url=data.get("url"),
                language=data.get("language"),
                limit=data["limit"],
            )
        return rows_response(result)

    @blp.requires("reader")
    @blp.arguments(MatchUrlQuery, location="query")
    @blp.response(200, MatchResult)
    def get(self, args: dict[str, Any]):
        """Look a link up: the narratives sighted at this URL (tracking parameters ignored)."""
        with db.connection() as conn:
            result = find(conn, text="", url=args["url"], language=None, limit=args["limit"])
        return rows_response(result, headers={"Cache-Control": CACHE_CONTROL})


def find(
    conn: Connection, *, text: str, url: str | None, language: str | None, limit: int
) -> dict[str, Any]:
    used = languages.resolve(language) or (
        languages.detect(text) if text.strip() else languages.NEUTRAL
    )
    hits: list[dict[str, Any]] = []
    common: list[str] = []
    held: dict[str, int] = {}
    if text.strip():
        analysed = lemmatize_uk(text) if used == "uk" else text
        found = repo.terms(conn, text=analysed, language=used)
        search, common = pruning.split(found.terms, found.counts, found.unseen)
        hits = repo.phrase_hits(conn, terms=found.terms, search=search)
        held = next((hit["held"] for hit in hits if hit["held"] is not None), {})
        if len(text) <= SHORT_TEXT:
            hits += repo.fuzzy_hits(conn, text=text, threshold=FUZZY_THRESHOLD)
    url_hits = repo.url_hits(conn, url_normalized=urls.normalize(url)) if url else []
    ranked = scoring.rank(
        [scoring.Hit.from_row(row) for row in hits],
        narratives=_population(conn) if hits else 1,
        common=common,
        url_hits=url_hits,
        held=held,
    )[:limit]
    ids = [match.narrative_id for match in ranked]
    briefs = repo.briefs(conn, ids)
    _fill_texts(conn, [item for match in ranked for item in match.evidence])
    rebuttals = rebuttals_repo.latest_for(conn, ids, REBUTTALS_PER_MATCH)
    return {
        "matches": [
            {
                "narrative": briefs[match.narrative_id],
                "score": match.score,
                "evidence": match.evidence,
                "rebuttals": rebuttals[match.narrative_id],
            }
            for match in ranked
        ],
        "language": used,
    }


# How many narratives can match, for the specificity of a lexeme (count(*) costs ~3 ms at 10,000
# narratives: a tenth of a match). A population this large moves no lexeme's specificity
# measurably in a minute; a smaller one (a new deployment) is counted on every match.
LARGE_POPULATION = 1000
POPULATION = Periodic(POPULATION_SECONDS, 0, always_below=LARGE_POPULATION)


def _population(conn: Connection) -> int:
    return POPULATION.keep(repo.live_narratives(conn)) if POPULATION.due() else POPULATION.value


def _fill_texts(conn: Connection, evidence: list[dict[str, Any]]) -> None:
    """The phrases' texts for the evidence shown (the candidates were read without them)."""
    missing = scoring.phrases_without_text(evidence)
    scoring.fill_texts(evidence, repo.texts(conn, missing) if missing else {})
