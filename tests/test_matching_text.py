"""service.matching's pure parts: which language a text is analysed in, and Ukrainian lemmas."""

# ruff: noqa: RUF001, RUF003 (Cyrillic test data)

import os
import subprocess
import sys

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


_LOAD_COST = """
from service.matching import lemmas

def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20

before = resident()
lemmas.warm()
print(resident() - before)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="Linux only")
def test_the_ukrainian_dictionary_costs_a_worker_megabytes_not_tens_of_them():
    """simplemma's default backend unpacks the Ukrainian dictionary (600,000 forms) into a dict
    of about 60 MiB in every gunicorn worker; its front-coded backend keeps the packed stream and
    a sparse index (about 9 MiB), at a few microseconds a lookup that `_lemma`'s cache absorbs.
    Measured in a fresh interpreter, where nothing else has loaded it."""
    grown = subprocess.run(
        [sys.executable, "-c", _LOAD_COST], capture_output=True, text=True, check=True
    ).stdout
    assert float(grown) < 25, f"loading the Ukrainian lemmas grew the process by {grown} MiB"
