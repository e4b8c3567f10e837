"""Filter choices from the data: the tiny city plus one call whose beat has no boundary."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import catalog, db, facts
from tests import tiny_city


@pytest.fixture
def con():
    c = tiny_city.connect()
    # A call in a beat the boundary file lacks (and a new district), priority 2, no type.
    c.execute("INSERT INTO calls (call_id, received_at, priority, district, beat) VALUES "
              "('z1', TIMESTAMP '2024-03-02 23:50', 2, 'D3', 'D3-B07')")
    facts.refresh_derived(c)
    yield c
    c.close()


# By hand from tests/tiny_city.py: calls from 2024-01-10 (p1) to 2024-03-02 (z1); districts
# D1, D2 (areas and calls) and D3 (z1 only); beats D1-B01, D1-B02, D2-B01 from the boundary
# file and D3-B07 from z1; priorities 1, 3, 4 and z1's 2; the crosswalk's categories of the
# call types used: quality_of_life (NOISE), property (THEFT_RPT), violent (ASSAULT), traffic.
EXPECTED = catalog.FilterOptions(
    min_date=dt.date(2024, 1, 10),
    max_date=dt.date(2024, 3, 2),
    districts=("D1", "D2", "D3"),
    beats=(("D1-B01", "D1"), ("D1-B02", "D1"), ("D2-B01", "D2"), ("D3-B07", "D3")),
    priorities=(1, 2, 3, 4),
    categories=("property", "quality_of_life", "traffic", "violent"),
)


def test_options_from_the_daily_aggregate(con):
    assert catalog.filter_options(db.ibis_backend(con)) == EXPECTED


def test_options_without_the_daily_aggregate_are_the_same(con):
    con.execute("DROP TABLE area_day_facts")
    assert catalog.filter_options(db.ibis_backend(con)) == EXPECTED
    assert EXPECTED.beats_in(("D1",)) == ("D1-B01", "D1-B02")


def test_empty_database_offers_nothing():
    c = db.connect(":memory:")
    facts.refresh_derived(c)
    opts = catalog.filter_options(db.ibis_backend(c))
    assert (opts.min_date, opts.max_date, opts.districts, opts.beats) == (None, None, (), ())
