"""The fetch demo's quotes: many of them, and never the same one twice in a row."""

from __future__ import annotations

import itertools
import random

import pytest

from docsite.quotes import QUOTES, QuoteDeck, random_quote


def test_there_are_enough_quotes_and_no_duplicates():
    assert len(QUOTES) >= 20
    assert len(set(QUOTES)) == len(QUOTES)


@pytest.mark.parametrize("seed", range(50))
def test_the_deck_never_deals_the_last_quote_again(seed: int):
    deck = QuoteDeck(rng=random.Random(seed))
    dealt = [deck.draw() for _ in range(5 * len(QUOTES))]
    assert all(a != b for a, b in itertools.pairwise(dealt))


def test_every_quote_comes_once_per_round():
    deck = QuoteDeck(rng=random.Random(1))
    for _ in range(3):
        assert sorted(deck.draw() for _ in QUOTES) == sorted(QUOTES)


def test_a_new_round_never_starts_with_the_quote_that_ended_the_last():
    # Two quotes: every round is one of two orders, so a clash at the seam is common.
    for seed in range(50):
        deck = QuoteDeck(("a", "b"), rng=random.Random(seed))
        dealt = [deck.draw() for _ in range(20)]
        assert dealt in (["a", "b"] * 10, ["b", "a"] * 10)


def test_a_deck_of_one_is_refused():
    with pytest.raises(ValueError, match="at least two"):
        QuoteDeck(("only",))


def test_the_server_draws_from_one_deck():
    dealt = [random_quote() for _ in range(3 * len(QUOTES))]
    assert set(dealt) <= set(QUOTES)
    assert all(a != b for a, b in itertools.pairwise(dealt))
