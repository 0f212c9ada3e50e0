"""Ukrainian lemmatisation with simplemma, whose dictionaries ship inside its wheel (nothing is
downloaded). PostgreSQL has no Ukrainian stemmer, so Ukrainian phrases and texts are reduced to
lemmas here and then indexed with the `match_simple` configuration (migration 0010)."""

# ruff: noqa: RUF001, RUF003 (Cyrillic letters and apostrophes are data here)

import functools
import re

import simplemma

# Function words carry no claim, and "в"/"у", "з"/"із" alternate by sound alone: both sides drop
# them (PostgreSQL's `simple` configuration has no Ukrainian stop list).
STOP_WORDS = frozenset(
    [
        "а",
        "але",
        "б",
        "би",
        "бо",
        "був",
        "була",
        "були",
        "було",
        "бути",
        "в",
        "вже",
        "во",
        "вона",
        "вони",
        "воно",
        "від",
        "для",
        "до",
        "же",
        "з",
        "за",
        "зі",
        "із",
        "й",
        "його",
        "і",
        "їх",
        "її",
        "к",
        "коли",
        "ми",
        "на",
        "над",
        "не",
        "ні",
        "о",
        "об",
        "от",
        "по",
        "при",
        "про",
        "під",
        "та",
        "так",
        "також",
        "те",
        "ти",
        "то",
        "той",
        "ту",
        "ті",
        "у",
        "хоча",
        "це",
        "цей",
        "ця",
        "ці",
        "чи",
        "що",
        "щоб",
        "я",
        "як",
        "який",
        "яка",
        "яке",
        "які",
        "якщо",
    ]
)
# Words simplemma does not know (names, new coinages) lose a case ending, so that "Крокусі"
# meets "Крокус": a light stemmer for what the dictionary misses.
_ENDINGS = (
    "ами",
    "ями",
    "ові",
    "еві",
    "ою",
    "ею",
    "ом",
    "ем",
    "ах",
    "ях",
    "ів",
    "ам",
    "ям",
    "і",
    "у",
    "ю",
    "а",
    "я",
    "е",
    "и",
)

_TOKEN = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@functools.lru_cache(maxsize=65536)
def _lemma(word: str) -> str:
    # simplemma looks the word up as written first: "Києві" is Kyiv, "києві" a cue stick.
    # low_memory: the packed dictionary and a sparse index (~9 MiB a worker) rather than a dict
    # of every form (~60 MiB); an uncached lookup costs ~7 µs instead of ~1, and this cache
    # absorbs most of them.
    lemma = simplemma.lemmatize(word, lang="uk", low_memory=True).lower()
    if lemma == word.lower() and len(lemma) > 4:
        for ending in _ENDINGS:
            if lemma.endswith(ending):
                return lemma[: -len(ending)]
    return lemma


def lemmatize_uk(text: str) -> str:
    """`text` with each Cyrillic word replaced by its lemma, function words dropped; other
    words kept as written."""
    words = []
    for token in _TOKEN.findall(text):
        if not _CYRILLIC.search(token):
            words.append(token)
        elif token.lower() not in STOP_WORDS:
            lemma = _lemma(token)
            if lemma not in STOP_WORDS:
                words.append(lemma)
    return " ".join(words)


def warm() -> None:
    """Load the Ukrainian dictionary now (a quarter of a second) rather than in a request."""
    _lemma("Київ")
