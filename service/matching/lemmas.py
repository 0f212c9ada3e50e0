"""Ukrainian lemmatisation with simplemma, whose dictionaries ship inside its wheel (nothing is
downloaded). PostgreSQL has no Ukrainian stemmer, so Ukrainian phrases and texts are reduced to
lemmas here and then indexed with the `match_simple` configuration (migration 0010)."""

# ruff: noqa: RUF001 (Cyrillic letters and apostrophes are data here)

import functools
import re

import simplemma

_TOKEN = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@functools.lru_cache(maxsize=65536)
def _lemma(word: str) -> str:
    # simplemma looks the word up as written first: "Києві" is Kyiv, "києві" a cue stick.
    return simplemma.lemmatize(word, lang="uk").lower()


def lemmatize_uk(text: str) -> str:
    """`text` with each Cyrillic word replaced by its lemma; other words kept as written."""
    return " ".join(
        _lemma(token) if _CYRILLIC.search(token) else token for token in _TOKEN.findall(text)
    )


def warm() -> None:
    """Load the Ukrainian dictionary now (about half a second) rather than in a request."""
    _lemma("Київ")
