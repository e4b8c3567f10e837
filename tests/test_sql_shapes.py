"""Expression shapes compiled once (analytics/sql_shapes.py through engines.compile_sql).

Every count below is read off the rows of the fixture by hand, and every SQL written from
a shape is compared with the expression's own compilation (Ibis, values as literals).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import db, engines, sql_shapes
from analytics.filters import Filters

ROWS = [  # received_at, district, priority, sensitive
    ("2025-01-05 10:00:00", "D1", 1, False),
    ("2025-01-20 23:59:00", "D1", 2, False),
    ("2025-01-31 23:59:59", "D2", 1, False),
    ("2025-02-01 00:00:00", "D2", 1, False),
    ("2025-02-10 08:00:00", "D2", 3, True),
    ("2025-03-01 12:00:00", "O'Brien", 1, False),
    ("2025-03-02 12:00:00", "__cso_slot_0__", 2, False),  # a value that looks like a token
]
DISTRICTS = sorted({r[1] for r in ROWS})


@pytest.fixture(scope="module")
def backend():
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE c (received_at TIMESTAMP, district VARCHAR, priority TINYINT, "
                "sensitive BOOLEAN)")
    con.executemany("INSERT INTO c VALUES (CAST(? AS TIMESTAMP), ?, ?, ?)", ROWS)
    yield db.ibis_backend(con)
    con.close()


def _count_expr(b, f: Filters, extra=None):
    t = f.apply(b.table("c"), beat_col=None, category_col=None)
    if extra is not None:
        t = t.filter(extra(t))
    return t.aggregate(n=t.count())


def _count(b, f: Filters, extra=None) -> int:
    expr = _count_expr(b, f, extra)
    sql = engines.compile_sql(b, expr)
    # the SQL written from the shape is the expression's own compilation
    plain = str(ibis.to_sql(expr, dialect="duckdb"))
    assert sql_shapes.normal_sql(sql) == sql_shapes.normal_sql(plain)
    return int(engines.execute(b, expr)[0]["n"].iloc[0])


def test_a_second_filter_value_reuses_the_compiled_shape(backend) -> None:
    n0 = engines.compilations()
    assert _count(backend, Filters(districts=("D1",))) == 2
    n1 = engines.compilations()
    assert n1 == n0 + 1  # one shape: a count over one district
    assert _count(backend, Filters(districts=("D2",))) == 3
    assert _count(backend, Filters(districts=("O'Brien",))) == 1
    assert _count(backend, Filters(districts=("__cso_slot_0__",))) == 1
    assert engines.compilations() == n1  # the same shape three more times
    jan = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31), districts=("D2",))
    assert _count(backend, jan) == 1  # 31 Jan 23:59:59 is inside an inclusive end date
    n2 = engines.compilations()
    assert n2 == n1 + 1  # dates added: a new shape
    feb = jan.with_(start=dt.date(2025, 2, 1), end=dt.date(2025, 2, 28))
    assert _count(backend, feb) == 2
    assert _count(backend, feb.with_(exclude_sensitive=True)) == 1  # 10 Feb is sensitive
    assert _count(backend, jan.with_(districts=("D1",))) == 2
    assert engines.compilations() == n2 + 1  # only the sensitive-call filter was new


def test_values_are_written_as_literals_never_read_again(backend) -> None:
    expr = _count_expr(backend, Filters(districts=("O'Brien", "__cso_slot_0__")))
    sql = engines.compile_sql(backend, expr)
    assert "'O''Brien'" in sql and "'__cso_slot_0__'" in sql
    assert int(engines.execute(backend, expr)[0]["n"].iloc[0]) == 2


def test_equal_values_share_a_slot_and_a_new_pattern_is_a_new_shape(backend) -> None:
    def not_d2(t):
        return t.district != "D2"

    # the filter's value and the rule's constant are equal here, different below
    assert _count(backend, Filters(districts=("D2",)), not_d2) == 0
    n = engines.compilations()
    assert _count(backend, Filters(districts=("D1",)), not_d2) == 2
    assert engines.compilations() == n + 1
    assert _count(backend, Filters(districts=("O'Brien",)), not_d2) == 1
    assert engines.compilations() == n + 1


def test_a_shape_without_a_template_compiles_the_expression(backend, monkeypatch) -> None:
    monkeypatch.setattr(sql_shapes, "compile_template", lambda *a, **k: None)
    monkeypatch.setattr(engines, "_TEMPLATES", {})
    monkeypatch.setattr(engines, "_SQL_CACHE", {})
    n = engines.compilations()
    assert _count(backend, Filters(districts=("D1",))) == 2
    assert _count(backend, Filters(districts=("D2",))) == 3
    assert engines.compilations() == n + 3  # a template tried once, then each expression


def test_no_slot_values_no_shape() -> None:
    t = ibis.table({"a": "int64", "b": "string"}, name="t")
    assert sql_shapes.shape_of(t.filter(t.b.isnull()).op()) is None
    # a float, a boolean or NULL compared is not a slot value
    assert sql_shapes.shape_of(t.filter(t.a > 1.5).op()) is None
    shape, values = sql_shapes.shape_of(t.filter(t.a.isin([3, 4]), t.b == "x").op())
    assert [v.value for v in values] == [3, 4, "x"]
    again, _ = sql_shapes.shape_of(t.filter(t.a.isin([5, 6]), t.b == "y").op())
    assert again == shape


def _by_hand(f: Filters) -> int:
    frame = pd.DataFrame(ROWS, columns=["received_at", "district", "priority", "sensitive"])
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    keep = pd.Series(True, index=frame.index)
    if f.start is not None:
        keep &= frame["received_at"] >= pd.Timestamp(f.start)
    if f.end is not None:
        keep &= frame["received_at"] < pd.Timestamp(f.end) + pd.Timedelta(days=1)
    if f.districts:
        keep &= frame["district"].isin(f.districts)
    if f.priorities:
        keep &= frame["priority"].isin(f.priorities)
    if f.exclude_sensitive:
        keep &= ~frame["sensitive"]
    return int(keep.sum())


DAYS = st.dates(min_value=dt.date(2024, 12, 25), max_value=dt.date(2025, 3, 10))


@settings(max_examples=60, deadline=None)
@given(days=st.tuples(st.one_of(st.none(), DAYS), st.one_of(st.none(), DAYS)),
       districts=st.lists(st.sampled_from(DISTRICTS), max_size=3),
       priorities=st.lists(st.sampled_from([1, 2, 3]), max_size=2),
       sensitive=st.booleans())
def test_any_filters_count_what_pandas_counts(backend, days, districts, priorities,
                                              sensitive) -> None:
    start, end = days
    if start and end and start > end:
        start, end = end, start
    f = Filters(start=start, end=end, districts=tuple(districts),
                priorities=tuple(priorities), exclude_sensitive=sensitive)
    assert _count(backend, f) == _by_hand(f)


@pytest.fixture()
def verified(monkeypatch):
    """Every SQL written from a shape checked against the expression's own compilation."""
    monkeypatch.setattr(engines, "VERIFY_SHAPES", True)


def test_the_pages_queries_write_the_sql_of_their_own_compilation(demo_con, verified) -> None:
    from analytics import crime_trends, offload, overview, response_times, workload
    from analytics.catalog import filter_options

    b = db.ibis_backend(demo_con)
    opts = filter_options(b)
    lo, hi = opts.min_date, opts.max_date
    year = Filters(start=dt.date(hi.year - 1, hi.month, 1), end=hi)
    seen: dict[str, list] = {}
    for f in (Filters(), Filters(districts=opts.districts[:1]),
              Filters(districts=opts.districts[1:2]), year.with_(districts=opts.districts[:1]),
              year.with_(priorities=(1, 2), exclude_sensitive=True)):
        cards = overview.overview_cards(b, f, lo, hi)
        overview.by_district(b, f, cards.period)
        response_times.response_summary(b, f)
        offload.kpi_values(b, f)
        workload.workload_summary(b, f)
        crime_trends.monthly_counts(b, f)
        seen.setdefault(f.describe(), []).append([k.value for k in cards.headline])
    # another district is another answer (the shape is shared, the values are not)
    first, second = (seen[Filters(districts=opts.districts[i:i + 1]).describe()][0]
                     for i in (0, 1))
    assert first != second


def test_without_lists_the_kept_columns_in_order_and_refuses_unknown_ones() -> None:
    t = ibis.table({"a": "int64", "_k_b": "string", "c": "float64", "_k_d": "date"}, name="t")
    got = sql_shapes.without(t, "_k_d", "_k_b")
    assert got.columns == ("a", "c")
    sql = ibis.to_sql(got, dialect="duckdb")
    assert "EXCLUDE" not in sql and sql.index('"a"') < sql.index('"c"')
    with pytest.raises(KeyError, match="_k_x"):
        sql_shapes.without(t, "_k_x")
