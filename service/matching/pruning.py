"""Which of a text's lexemes to look phrases up by.

A long text holds lexemes that thousands of phrases share; looking all of those up would read a
large part of the index for words that are weak evidence anyway. As search engines prune low-IDF
terms, the text's lexemes are taken rarest first until the phrases they are estimated to pull in
reach a budget; the commoner ones left over still count when a candidate holds them, but find no
candidates themselves, and the scorer gives them no weight. The rarest lexeme is looked up even
past the budget, up to a ceiling, so that a text made only of common words still finds what
carries them.

The estimates are the worker's counts of a sample of phrases (migrations/0020_phrase_term_counts.sql),
which hold every lexeme: one the sample did not see is given the phrases one sighting would
stand for (none when the counts are exact), so that a text of many rare words is bounded too. A
lexeme with no estimate at all is always looked up.

So the candidates stay near the budget however many phrases there are: at ten million sightings
a narrative's own words are held by hundreds of quotes each, and are looked up only while the
budget lasts (the rarest first), where looking up all of them read thousands of phrases.
"""

CANDIDATE_BUDGET = 1000
# The rarest lexeme alone may pull in this many.
CANDIDATE_CEILING = 5000


def split(terms: list[str], frequent: dict[str, float], budget: float | None = None):
    """(search, common): the lexemes to look up, and those left over."""
    budget = CANDIDATE_BUDGET if budget is None else budget
    tracked = sorted((frequent[term], term) for term in terms if term in frequent)
    search = [term for term in terms if term not in frequent]
    common = []
    spent = 0.0
    for phrases, term in tracked:
        spent += phrases
        rarest = not search and phrases <= CANDIDATE_CEILING
        (search if spent <= budget or rarest else common).append(term)
    return search, common
