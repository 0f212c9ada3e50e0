"""Text processing for matching (POST /v1/match): language detection, Ukrainian lemmatisation,
and the scoring of phrase hits. Pure Python: no Flask, no database."""
