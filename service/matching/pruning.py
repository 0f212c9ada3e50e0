"""Which of a text's lexemes to look phrases up by.

A long text holds lexemes that thousands of phrases share; looking all of those up would read a
large part of the index for words that are weak evidence anyway. As search engines prune low-IDF
terms, the text's lexemes are taken rarest first until the phrases they are estimated to pull in
reach a budget; the commoner ones left over still count when a candidate holds them, but find no
candidates themselves, and the scorer gives them no weight. The estimates come from the
statistics ANALYZE keeps (pg_stats' most common elements); a lexeme they do not track is rarer
than every tracked one and is always looked up.
"""

CANDIDATE_BUDGET = 1000


def split(terms: list[str], frequent: dict[str, float], budget: float = CANDIDATE_BUDGET):
    """(search, common): the lexemes to look up, and those left over."""
    tracked = sorted((frequent[term], term) for term in terms if term in frequent)
    search = [term for term in terms if term not in frequent]
    common = []
    spent = 0.0
    for phrases, term in tracked:
        spent += phrases
        (search if spent <= budget else common).append(term)
    return search, common
