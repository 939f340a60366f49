"""The one search driver: a search is a function of its strategy, settings and seed alone."""

from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers

from theorem.util.search import search, strategy_only


def test_no_source_constants_are_drawn_inside_a_search_and_hypothesis_is_restored_after():
    original = providers._get_local_constants
    with strategy_only():
        assert len(providers._get_local_constants()) == 0
    assert providers._get_local_constants is original


def test_the_same_search_twice_finds_the_same_minimal_example():
    def run():
        return search(st.lists(st.integers(-1000, 1000), min_size=1, max_size=5),
                      lambda xs: (sum(xs) > 1234, float(sum(xs)), {}), max_examples=200)

    first, second = run(), run()
    assert first.found and sum(first.example) > 1234
    assert (first.example, first.examples_run) == (second.example, second.examples_run)
