"""Which analysis a text gets: English, Russian, Ukrainian, or language-neutral ("und").

The three languages the service matches in are told apart by script and by letters each Cyrillic
orthography has and the other lacks (Ukrainian і ї є ґ, Russian ы э ъ ё), backed by a few
frequent function words for texts too short to carry those letters. Statistical detectors
(py3langid, lingua) answer for a hundred languages but need numpy or a large model, and on short
Cyrillic phrases they confuse Russian with Bulgarian or Ukrainian more often than these letters
do. Latin-script text is English unless function words of another common language outnumber
English ones; then it is matched language-neutrally, which also serves a text in a language we
have no stemmer for.
"""

# ruff: noqa: RUF001, RUF002 (Cyrillic letters and apostrophes are data here)

import re

SUPPORTED = ("en", "ru", "uk")
NEUTRAL = "und"

_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_UK_LETTERS = re.compile(r"[іїєґІЇЄҐ]")
_RU_LETTERS = re.compile(r"[ыэъёЫЭЪЁ]")

_UK_WORDS = frozenset(
    [
        "що",
        "це",
        "та",
        "від",
        "як",
        "або",
        "також",
        "який",
        "яка",
        "які",
        "його",
        "її",
        "вони",
        "було",
        "буде",
        "після",
        "через",
        "щоб",
        "під",
        "час",
        "державний",
        "україна",
        "україни",
    ]
)
_RU_WORDS = frozenset(
    [
        "что",
        "это",
        "как",
        "от",
        "или",
        "также",
        "который",
        "которая",
        "которые",
        "его",
        "ее",
        "они",
        "было",
        "будет",
        "после",
        "через",
        "чтобы",
        "под",
        "время",
        "украина",
        "украины",
    ]
)
_EN_WORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "that",
        "was",
        "for",
        "on",
        "with",
        "by",
        "as",
        "at",
        "from",
        "it",
        "be",
        "has",
        "have",
        "are",
        "were",
        "said",
        "this",
        "an",
        "a",
        "not",
        "but",
        "which",
        "who",
        "their",
        "its",
        "after",
        "had",
    ]
)
# Frequent function words of other Latin-script languages, to tell them from English.
_OTHER_LATIN_WORDS = frozenset(
    [
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "mit",
        "von",
        "den",
        "le",
        "la",
        "les",
        "des",
        "et",
        "est",
        "une",
        "du",
        "dans",
        "que",
        "el",
        "los",
        "las",
        "por",
        "para",
        "con",
        "una",
        "il",
        "di",
        "che",
        "della",
        "sono",
        "w",
        "się",
        "nie",
        "jest",
        "na",
        "oraz",
    ]
)


def detect(text: str) -> str:
    """The language to analyse `text` in: one of SUPPORTED, or NEUTRAL."""
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    if cyrillic == 0 and latin == 0:
        return NEUTRAL
    words = [word.lower() for word in _WORD.findall(text)]
    if cyrillic >= latin:
        uk = len(_UK_LETTERS.findall(text)) + 2 * sum(word in _UK_WORDS for word in words)
        ru = len(_RU_LETTERS.findall(text)) + 2 * sum(word in _RU_WORDS for word in words)
        # Without a telling letter or word, Russian: the larger share of Cyrillic news text.
        return "uk" if uk > ru else "ru"
    english = sum(word in _EN_WORDS for word in words)
    other = sum(word in _OTHER_LATIN_WORDS for word in words)
    return NEUTRAL if other > english else "en"


def resolve(tag: str | None) -> str | None:
    """The supported language a client's tag names ("ru-RU" -> "ru"), NEUTRAL for a tag we
    cannot use (another language, malformed), or None when there is no tag (detect instead)."""
    if tag is None:
        return None
    primary = str(tag).strip().split("-")[0].split("_")[0].lower()
    return primary if primary in SUPPORTED else NEUTRAL
