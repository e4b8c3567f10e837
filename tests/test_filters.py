"""Filters: frozen, hashable, URL round-trip, applied as Ibis predicates."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics import db
from analytics.errors import OptionError
from analytics.filters import Filters


def test_frozen_and_hashable() -> None:
    f = Filters(districts=("D2", "D1"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.start = dt.date(2024, 1, 1)  # type: ignore[misc]
    assert hash(f) == hash(Filters(districts=("D1", "D2")))
    assert f.districts == ("D1", "D2")  # normalised order


def test_with_does_not_mutate() -> None:
    f = Filters(beats=("B1",))
    g = f.with_(beats=("B2",))
    assert f.beats == ("B1",) and g.beats == ("B2",)


def test_start_after_end_is_refused() -> None:
    with pytest.raises(OptionError):
        Filters(start=dt.date(2024, 2, 1), end=dt.date(2024, 1, 1))


def test_shifted_years_handles_leap_day() -> None:
    f = Filters(start=dt.date(2024, 2, 29), end=dt.date(2024, 3, 31)).shifted_years(-1)
    assert (f.start, f.end) == (dt.date(2023, 2, 28), dt.date(2023, 3, 31))


dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31))
names = st.lists(st.text("ABCD-0123", min_size=1, max_size=5), max_size=4)


@given(dates, dates, names, names, st.lists(st.integers(1, 5), max_size=5), names)
def test_query_params_round_trip(a, b, districts, beats, prios, cats) -> None:
    start, end = min(a, b), max(a, b)
    f = Filters(start=start, end=end, districts=tuple(districts), beats=tuple(beats),
                priorities=tuple(prios), categories=tuple(cats))
    assert Filters.from_query_params(f.to_query_params()) == f


def test_bad_query_params_are_ignored() -> None:
    f = Filters.from_query_params({"start": "yesterday", "priority": ["1", "x"]})
    assert f == Filters(priorities=(1,))


def test_apply_filters_rows_by_whole_days() -> None:
    con = db.connect(":memory:")
    con.execute("""
        INSERT INTO calls (call_id, received_at, priority, district, beat) VALUES
        ('a', '2024-01-01 00:00:00', 1, 'D1', 'B1'),
        ('b', '2024-01-31 23:59:59', 2, 'D1', 'B2'),
        ('c', '2024-02-01 00:00:00', 1, 'D2', 'B3'),
        ('d', '2023-12-31 23:59:59', 1, 'D1', 'B1')
    """)
    t = db.ibis_backend(con).table("calls")

    def ids(f: Filters) -> list[str]:
        out = f.apply(t, category_col=None).to_pandas()
        return sorted(out["call_id"])

    jan = Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 31))
    assert ids(jan) == ["a", "b"]
    assert ids(Filters(districts=("D1",), priorities=(1,))) == ["a", "d"]
    assert ids(Filters(beats=("B3",))) == ["c"]
    assert ids(Filters()) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("bad", ["²", "١", "x", "-1", "100", "99999999999999999999999"])
def test_priority_query_values_that_are_not_ascii_numbers_are_dropped(bad) -> None:
    # "²".isdigit() is True but int("²") raises: the link once crashed every page.
    f, dropped = Filters.parse_query_params({"priority": ["2", bad]})
    assert f.priorities == (2,)
    assert dropped == (f"priority={bad}",)


def test_bad_dates_and_oversized_values_are_reported_as_dropped() -> None:
    f, dropped = Filters.parse_query_params(
        {"start": "2024-13-01", "district": ["D1", "x" * 500]})
    assert f == Filters(districts=("D1",))
    assert dropped[0] == "start=2024-13-01"
    assert dropped[1].startswith("district=xxx") and dropped[1].endswith("…")


def test_end_date_at_the_calendar_limit_does_not_overflow() -> None:
    con = db.connect(":memory:")
    con.execute("INSERT INTO calls (call_id, received_at) VALUES ('a', '9999-12-31 10:00:00'), "
                "('b', '2024-01-01 00:00:00')")
    t = db.ibis_backend(con).table("calls")
    f = Filters(start=dt.date(2024, 1, 1), end=dt.date.max)
    assert sorted(f.apply(t, category_col=None).to_pandas()["call_id"]) == ["a", "b"]
