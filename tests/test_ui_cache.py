"""ui.cache.cached: the one cached-call helper the pages use."""

from __future__ import annotations

import threading

import pytest

from analytics import db
from analytics.filters import Filters
from ui import cache

CALLS: list[tuple] = []


def count_calls(backend, filters: Filters, n: int = 1, *, scale: float = 1.0) -> float:
    CALLS.append((filters, n, scale))
    return n * scale


def other_function(backend, filters: Filters, n: int = 1, *, scale: float = 1.0) -> float:
    CALLS.append(("other", n))
    return -n


@pytest.fixture()
def backend(tmp_path, monkeypatch):
    monkeypatch.setenv("CSO_DB", str(tmp_path / "a.duckdb"))
    con = db.connect(tmp_path / "a.duckdb")
    cache.clear()
    CALLS.clear()
    yield db.ibis_backend(con)
    cache.clear()
    con.close()


def test_same_call_is_computed_once(backend) -> None:
    f = Filters(districts=("D1",))
    assert cache.cached(count_calls, backend, f, 2, scale=3.0) == 6.0
    assert cache.cached(count_calls, backend, f, 2, scale=3.0) == 6.0
    assert len(CALLS) == 1


def test_every_argument_but_the_backend_is_part_of_the_key(backend) -> None:
    f = Filters(districts=("D1",))
    cache.cached(count_calls, backend, f, 2)
    cache.cached(count_calls, backend, f, 3)
    cache.cached(count_calls, backend, f.with_(districts=("D2",)), 2)
    cache.cached(count_calls, backend, f, 2, scale=2.0)
    assert len(CALLS) == 4


def test_two_functions_with_the_same_arguments_do_not_share_entries(backend) -> None:
    assert cache.cached(count_calls, backend, Filters(), 5) == 5
    assert cache.cached(other_function, backend, Filters(), 5) == -5
    assert len(CALLS) == 2


def test_another_database_is_another_entry(backend, tmp_path, monkeypatch) -> None:
    cache.cached(count_calls, backend, Filters(), 1)
    monkeypatch.setenv("CSO_DB", str(tmp_path / "b.duckdb"))
    cache.cached(count_calls, backend, Filters(), 1)
    assert len(CALLS) == 2


def test_underscore_keyword_is_passed_without_being_hashed(backend) -> None:
    lock = threading.Lock()  # not hashable by Streamlit
    assert cache.cached(count_calls, backend, Filters(), 2, _scale=4.0) == 8.0
    # the key ignores _scale, so a different value is (by contract) the same entry
    assert cache.cached(count_calls, backend, Filters(), 2, _scale=9.0) == 8.0
    assert len(CALLS) == 1
    with pytest.raises(cache.UnhashableArgumentError, match="count_calls"):
        cache.cached(count_calls, backend, lock)


def test_clear_drops_every_entry(backend) -> None:
    cache.cached(count_calls, backend, Filters(), 1)
    cache.clear()
    cache.cached(count_calls, backend, Filters(), 1)
    assert len(CALLS) == 2


SLOW_STARTED = threading.Event()


def slow_square(backend, n: int) -> int:
    CALLS.append(n)
    SLOW_STARTED.set()
    threading.Event().wait(0.3)  # long enough for the second caller to arrive meanwhile
    return n * n


def test_a_caller_arriving_during_a_computation_waits_for_it(backend) -> None:
    # The warm start (ui/serve.py) and a first visitor asking for the same result: one
    # computation, both get it.
    SLOW_STARTED.clear()
    before = cache.computed()
    got: list[int] = []
    first = threading.Thread(target=lambda: got.append(cache.cached(slow_square, backend, 7)))
    first.start()
    assert SLOW_STARTED.wait(10)
    got.append(cache.cached(slow_square, backend, 7))  # arrives while the first computes
    first.join(10)
    assert got == [49, 49] and CALLS == [7]
    assert cache.computed() - before == 1
    cache.cached(slow_square, backend, 7)
    assert cache.computed() - before == 1  # a hit computes nothing
