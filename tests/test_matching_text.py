"""service.matching's pure parts: which language a text is analysed in, and Ukrainian lemmas."""

# ruff: noqa: RUF001, RUF003 (Cyrillic test data)

import pytest

from service.matching import language
from service.matching.lemmas import lemmatize_uk


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Российские власти заявили об украинском следе в теракте", "ru"),
        ("Російська влада заявила про український слід у теракті", "uk"),
        ("Крокус Сити Холл", "ru"),  # no telling letter: Russian, the likelier
        ("Що це було?", "uk"),  # no і ї є ґ, but Ukrainian function words
        ("Ukrainian window", "en"),
        ("Die Ukraine war es nicht, sagt der Minister", "und"),
        ("12345 !!!", "und"),
        ("", "und"),
    ],
)
def test_detect(text, expected):
    assert language.detect(text) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [(None, None), ("ru", "ru"), ("uk-UA", "uk"), ("EN_us", "en"), ("de", "und"), ("", "und")],
)
def test_resolve(tag, expected):
    assert language.resolve(tag) == expected


def test_ukrainian_lemmas_join_inflected_forms_and_drop_function_words():
    assert lemmatize_uk("західних спецслужб") == lemmatize_uk("західні спецслужби")
    assert lemmatize_uk("у Києві") == lemmatize_uk("в Київ") == "київ"
    # A name the dictionary lacks still loses its case ending.
    assert lemmatize_uk("у «Крокусі»") == "крокус"
    assert lemmatize_uk("MI6 і ЦРУ") == "MI6 цру"
