"""Which of a text's lexemes to look phrases up by.

A long text holds lexemes that thousands of phrases share; looking all of those up would read a
large part of the index for words that are weak evidence anyway. As search engines prune low-IDF
terms, the text's lexemes are taken rarest first until the phrases they are estimated to pull in
reach a budget; the commoner ones left over still count when a candidate holds them, but find no
candidates themselves, and the scorer gives them no weight. The rarest lexeme is looked up even
past the budget, up to a ceiling, so that a text made only of common words still finds what
carries them.

The estimates are the worker's counts of a sample of phrases
(migrations/0020_phrase_term_counts.sql). A lexeme the sample did not see (a name, a rare word)
is held by a few phrases at most, `unseen` or so: such lexemes are looked up without being
charged to the budget, up to MAX_UNSEEN a text, the longest first, so that a text of many rare
words is bounded too. While the counts are exact (few phrases) or not yet taken, `unseen` is 0
and every one is looked up.

So the candidates stay near the budget however many phrases there are: at ten million sightings
a narrative's own words are held by hundreds of quotes each, and are looked up only while the
budget lasts (the rarest first), where looking up all of them read thousands of phrases.
"""

CANDIDATE_BUDGET = 1000
# The rarest counted lexeme alone may pull in this many.
CANDIDATE_CEILING = 5000
# Unseen lexemes looked up in one text: at ten million phrases, 200 of them pull in 20,000
# phrases at the very most, and a 3-paragraph article holds a few dozen.
MAX_UNSEEN = 200


def split(
    terms: list[str], counts: dict[str, float], unseen: float = 0.0, budget: float | None = None
) -> tuple[list[str], list[str]]:
    """(search, common): the lexemes to look up, and those left over."""
    budget = CANDIDATE_BUDGET if budget is None else budget
    # Longer first: among words no count tells apart, names and rare words are the long ones.
    rare = sorted((term for term in terms if term not in counts), key=lambda t: (-len(t), t))
    kept = MAX_UNSEEN if unseen > 0 else len(rare)
    search, common = rare[:kept], rare[kept:]
    spent = 0.0
    for phrases, term in sorted((counts[term], term) for term in terms if term in counts):
        spent += phrases
        # Nothing looked up yet: this is the rarest (the commoner ones past the ceiling too).
        rarest = not search and phrases <= CANDIDATE_CEILING
        (search if spent <= budget or rarest else common).append(term)
    return search, common
