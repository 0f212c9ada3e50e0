"""The words of the benchmark's catalogue of narratives and of the texts the `match` path sends.

Matching is measured against a catalogue shaped like a real one, not against twenty narratives:
10,000 narratives whose titles, aliases (Russian and Ukrainian), keywords and summaries, and a
million sighting quotes, are drawn from a vocabulary of 15,625 made-up words in three scripts.

- Each narrative has five *anchor* words (deterministic from its index, among the 11,625 rarer
  words; no two narratives share more than one), each shared with about four other narratives:
  the specific words of a claim.
- Quotes, summaries and texts also hold *filler* words drawn log-uniformly from the 4,000
  others, so a few words are as common as "the" and the rest common enough to be found in
  hundreds of phrases: the spread of lexemes a real percolator index sees, with long posting
  lists for the common ones.

Made-up words keep the figures free of any one language's stop words and stemmer quirks, while
each script still goes through its own configuration (english, russian, Ukrainian lemmatised).
The SQL seed (bench/seed.py) takes the same word lists as parameters, so both sides agree.
"""

import math
import random

WORDS = 25**3
# Filler words are the first FILLERS of the vocabulary; anchors the rest (11,625 of them: more than
# the catalogue's narratives, so that no two narratives share all their anchors).
FILLERS = 4000
ANCHORS = 5
_LATIN = "ka lo mi ne ru ta vo zi pe do sa li gu be fo ha ji ke mo nu ri so tu ve xa".split()  # noqa: SIM905
_RUSSIAN = "ка ло ми не ру та во зи пе до са ли гу бе фо ха жи ке мо ну ри со ту ве ча".split()  # noqa: SIM905, RUF001 - Cyrillic
# A Ukrainian letter in every word, so that the scripts' detector says "uk".
_UKRAINIAN = "кі ло мі не ру та во зі пе до са лі гу бе фо ха жі ке мо ну рі со ту ве ча".split()  # noqa: SIM905, RUF001 - Cyrillic
SCRIPTS = {"en": _LATIN, "ru": _RUSSIAN, "uk": _UKRAINIAN}


def _word(syllables: list[str], k: int) -> str:
    return syllables[k % 25] + syllables[(k // 25) % 25] + syllables[(k // 625) % 25]


def words(script: str) -> list[str]:
    """The vocabulary in one script ('en', 'ru' or 'uk'), word k at index k."""
    syllables = SCRIPTS[script]
    return [_word(syllables, k) for k in range(WORDS)]


def anchors(narrative: int) -> list[int]:
    """The indexes of a catalogue narrative's anchor words (the same formula as the SQL seed)."""
    span = WORDS - FILLERS
    return [
        FILLERS + ((narrative + 1) * (7919 + 2 * t) * 104729 + t * 1299709) % span
        for t in range(ANCHORS)
    ]


# Which anchors each phrasing of a catalogue narrative holds: the English title, the Russian and
# the Ukrainian alias (bench/seed.py builds the same).
CLAIM = {"en": (0, 1, 2, 3), "ru": (0, 1, 2, 4), "uk": (0, 2, 3, 4)}


def filler(rng: random.Random) -> int:
    """A word index drawn log-uniformly: index 0 about one draw in thirteen, most very rare."""
    return min(int(math.exp(rng.random() * math.log(FILLERS))) - 1, FILLERS - 1)


def match_text(narrative: int, script: str, rng: random.Random, paragraphs: int) -> str:
    """A text of 1-3 paragraphs (about 60 words each) that carries catalogue narrative
    `narrative`: its claim in this script once, and two more of its anchor words in each
    paragraph, among filler."""
    vocabulary = words(script)
    own = anchors(narrative)
    claim = " ".join(vocabulary[own[t]] for t in CLAIM[script])
    out = []
    for index in range(paragraphs):
        sentence = [vocabulary[filler(rng)] for _ in range(60)]
        for anchor in rng.sample(own, 2):
            sentence.insert(rng.randrange(len(sentence) + 1), vocabulary[anchor])
        if index == 0:
            sentence.insert(rng.randrange(len(sentence) + 1), claim)
        out.append(" ".join(sentence).capitalize() + ".")
    return "\n\n".join(out)
