"""Overview KPIs on a hand-built table: period rule, deltas, small counts, Poisson z."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from pathlib import Path

import pytest

from analytics import db, facts, overview
from analytics import response_hist as rh
from analytics.core import calls as core_calls
from analytics.filters import Filters


def test_period_is_the_sidebar_period() -> None:
    # No dates in the sidebar: the period is the whole data span (never a hidden window).
    p = overview.kpi_period(Filters(), dt.date(2022, 1, 1), dt.date(2025, 12, 31))
    assert (p.start, p.end) == (dt.date(2022, 1, 1), dt.date(2025, 12, 31))
    assert (p.prev_start, p.prev_end) == (dt.date(2021, 1, 1), dt.date(2024, 12, 31))
    assert not p.comparable  # 2021 is before the data: no year-earlier comparison
    assert p.earliest_comparable_start == dt.date(2023, 1, 1)
    f = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    p = overview.kpi_period(f, dt.date(2022, 1, 1), dt.date(2025, 12, 31))
    assert (p.start, p.end) == (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert (p.prev_start, p.prev_end) == (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert p.comparable and p.days == 31
    # a period starting exactly a year after the data begin is comparable; a day earlier not
    f = Filters(start=dt.date(2023, 1, 1), end=dt.date(2023, 6, 30))
    assert overview.kpi_period(f, dt.date(2022, 1, 1), dt.date(2025, 12, 31)).comparable
    f = Filters(start=dt.date(2022, 12, 31), end=dt.date(2023, 6, 30))
    assert not overview.kpi_period(f, dt.date(2022, 1, 1), dt.date(2025, 12, 31)).comparable
    assert overview.kpi_period(Filters(), None, None) is None


def test_incomparable_period_shows_no_change(backend) -> None:
    # Data from 10 Mar 2024; a period from 1 Mar 2025 reaches back to 1 Mar 2024: partial.
    f = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    period, kpis = overview.overview_kpis(backend, f, dt.date(2024, 3, 10), dt.date(2025, 3, 31))
    assert not period.comparable
    for k in kpis:
        assert k.previous is None and k.delta is None and k.z is None
    assert {x.key: x for x in kpis}["calls"].value == 15


def test_small_counts_get_no_percent() -> None:
    k = overview.Kpi("x", "X", 9.0, 4.0, "calls", "neutral", "")
    assert k.delta is None
    k = overview.Kpi("x", "X", 30.0, 20.0, "calls", "neutral", "")
    assert k.delta == pytest.approx(50.0)


@pytest.fixture()
def backend():
    con = db.connect(":memory:")
    con.execute("INSERT INTO units VALUES ('S1','sworn',NULL), ('C1','cso',NULL)")
    con.execute("""INSERT INTO call_types (call_type, category, cso_tier) VALUES
        ('REPORT','property','cso_only'), ('SHOTS','violent','sworn_only')""")
    rows = []
    # March 2025: 12 eligible public calls, 3 handled by a CSO; 2 P1 calls (6 and 10 min).
    for i in range(12):
        unit = "C1" if i < 3 else "S1"
        rows.append((f"r{i}", "2025-03-10 10:00", "REPORT", 4, False, unit, 20))
    rows.append(("p1a", "2025-03-11 10:00", "SHOTS", 1, False, "S1", 6))
    rows.append(("p1b", "2025-03-12 10:00", "SHOTS", 1, False, "S1", 10))
    rows.append(("oi", "2025-03-12 11:00", "SHOTS", 1, True, "S1", 0))  # officer-initiated
    # March 2024: 10 eligible public calls, none by CSO; one P1 call of 12 min.
    for i in range(10):
        rows.append((f"q{i}", "2024-03-10 10:00", "REPORT", 4, False, "S1", 20))
    rows.append(("p1c", "2024-03-11 10:00", "SHOTS", 1, False, "S1", 12))
    for cid, t, ct, prio, oi, unit, mins in rows:
        con.execute(
            "INSERT INTO calls (call_id, received_at, call_type, priority, self_initiated) "
            "VALUES (?, ?, ?, ?, ?)", [cid, t, ct, prio, oi])
        con.execute(
            "INSERT INTO assignments VALUES (?, ?, CAST(? AS TIMESTAMP), NULL, "
            "CAST(? AS TIMESTAMP) + to_minutes(CAST(? AS INTEGER)), "
            "CAST(? AS TIMESTAMP) + INTERVAL 2 HOUR, true)",
            [cid, unit, t, t, mins, t])
    for i in range(16):
        con.execute("INSERT INTO incidents (incident_id, occurred_at) VALUES (?, '2025-03-05')", [f"i{i}"])
    for i in range(9):
        con.execute("INSERT INTO incidents (incident_id, occurred_at) VALUES (?, '2024-03-05')", [f"j{i}"])
    con.execute("INSERT INTO kpi_targets (metric, target, direction) VALUES ('p1_median', 7, 'at_most')")
    facts.refresh_derived(con)
    return db.ibis_backend(con)


def test_kpis_by_hand(backend) -> None:
    f = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    period, kpis = overview.overview_kpis(backend, f, dt.date(2024, 3, 1), dt.date(2025, 3, 31))
    k = {x.key: x for x in kpis}
    assert k["calls"].value == 15 and k["calls"].previous == 11
    assert k["calls"].delta == pytest.approx((15 - 11) / 11 * 100)
    assert k["cso_share"].value == pytest.approx(3 / 12 * 100)   # 25 %
    assert k["cso_share"].previous == pytest.approx(0.0)
    assert k["cso_share"].delta == pytest.approx(25.0)           # percentage points
    # P1 public calls: 6 and 10 minutes -> median 8; last year 12 -> change -4 minutes
    # (5-second histograms: each within the documented 2.5 s)
    assert k["p1_median"].value == pytest.approx(8.0, abs=rh.ERROR_BOUND_S / 60 + 1e-9)
    assert k["p1_median"].delta == pytest.approx(-4.0, abs=2 * rh.ERROR_BOUND_S / 60 + 1e-9)
    assert k["p1_median"].meets_target is False                   # 8 > 7
    assert k["crimes"].value == 16 and k["crimes"].previous == 9
    assert k["crimes"].delta is None                              # 9 < 10: no percent
    assert k["crimes"].z == pytest.approx(math.sqrt(2) * (4 - 3))   # √2(√16 − √9)
    # exact test: 16 of 25 at ½ → 2·P(X ≥ 16) = 2·Σ_{j≥16} C(25, j) / 2^25
    p_hand = 2 * sum(math.comb(25, j) for j in range(16, 26)) / 2**25
    assert k["crimes"].change_p == pytest.approx(p_hand, rel=1e-9)
    assert not k["crimes"].flagged


def test_by_district_by_hand(backend) -> None:
    con = backend.con
    con.execute("UPDATE calls SET district = 'D1' WHERE call_id LIKE 'r%' OR call_id LIKE 'q%'")
    con.execute("UPDATE calls SET district = 'D2' WHERE call_id IN ('p1a', 'p1b', 'oi', 'p1c')")
    con.execute("UPDATE incidents SET district = 'D1'")
    facts.refresh_derived(con)
    f = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    period = overview.kpi_period(f, dt.date(2024, 3, 1), dt.date(2025, 3, 31))
    t = overview.by_district(backend, f, period).frame.set_index("district")
    assert list(t.index) == ["D1", "D2"]
    # D1: 12 report calls, 3 by a CSO -> 25 %; no P1 calls; 16 crimes vs 9 -> z = √2(4 - 3)
    assert t.loc["D1", "calls"] == 12 and t.loc["D1", "cso_share_pct"] == 25.0
    assert t.loc["D1", "crimes"] == 16 and t.loc["D1", "crimes_last_year"] == 9
    assert t.loc["D1", "crimes_poisson_z"] == pytest.approx(1.41)
    assert t.loc["D1", "crimes_exact_p"] == pytest.approx(
        2 * sum(math.comb(25, j) for j in range(16, 26)) / 2**25, rel=1e-9)
    assert not t.loc["D1", "crimes_flagged"]
    assert math.isnan(t.loc["D1", "p1_median_min"])
    # D2: 3 calls (one officer-initiated), P1 public calls of 6 and 10 min -> median 8
    assert t.loc["D2", "calls"] == 3 and t.loc["D2", "p1_median_min"] == 8.0  # 7.96 rounds to 8.0
    assert math.isnan(t.loc["D2", "cso_share_pct"])  # no eligible calls: no share
    assert t.loc["D2", "crimes"] == 0


def test_by_district_with_no_district_anywhere_is_an_empty_table(backend) -> None:
    # The fixture's calls and incidents carry no district at all (as a Seattle export
    # cut to one beat does): the engine returns such a key column as all-NaN floats, and
    # the table must still be built, with no rows, rather than fail on the join.
    f = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    period = overview.kpi_period(f, dt.date(2024, 3, 1), dt.date(2025, 3, 31))
    res = overview.by_district(backend, f, period)
    t = res.frame
    assert len(t) == 0
    # nothing silently dropped: March 2025 holds 15 calls and 16 incidents, all nameless
    assert any("15 calls and 16 crime incidents" in c for c in res.caveats), res.caveats
    assert {"district", "calls", "cso_share_pct", "p1_median_min", "crimes"} <= set(t.columns)


def test_by_district_with_districts_on_calls_only(backend) -> None:
    # Calls in one district, incidents in none: the calls' rows stand, crimes are 0.
    con = backend.con
    con.execute("UPDATE calls SET district = 'D1'")
    facts.refresh_derived(con)
    f = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    period = overview.kpi_period(f, dt.date(2024, 3, 1), dt.date(2025, 3, 31))
    t = overview.by_district(backend, f, period).frame.set_index("district")
    assert list(t.index) == ["D1"]
    assert t.loc["D1", "calls"] == 15 and t.loc["D1", "crimes"] == 0
    assert t.loc["D1", "cso_share_pct"] == 25.0   # 3 of 12 eligible calls


def test_overview_cards_compute_each_value_once_and_only_what_is_shown(backend, monkeypatch
                                                                       ) -> None:
    from analytics import offload

    asked: list[tuple[str, ...]] = []
    kpi_values = offload.kpi_values

    def counting(b, f, metrics=None):
        asked.append(tuple(metrics or offload.TARGET_METRICS))
        return kpi_values(b, f, metrics)

    def refuse(*_a, **_k):
        raise AssertionError("offload measures computed though no card shows them")

    monkeypatch.setattr(offload, "kpi_values", counting)
    monkeypatch.setattr(offload, "offload_summary", refuse)
    monkeypatch.setattr(offload, "offload_table", refuse)
    f = Filters(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    cards = overview.overview_cards(backend, f, dt.date(2024, 3, 1), dt.date(2025, 3, 31))
    # The only target is the P1 median (7 min): one target card, whose values are the
    # headline card's (6 and 10 min → 8; a year earlier 12), computed once per period.
    assert [k.key for k in cards.targeted] == ["p1_median"]
    target, = cards.targeted
    # (5-second histograms: each within the documented 2.5 s)
    bound = rh.ERROR_BOUND_S / 60 + 1e-9
    assert target.value == pytest.approx(8.0, abs=bound)
    assert target.previous == pytest.approx(12.0, abs=bound)
    assert target.target == 7.0 and target.meets_target is False
    head = {k.key: k for k in cards.headline}
    assert (head["p1_median"].value, head["p1_median"].previous) == (target.value,
                                                                     target.previous)
    # the period and a year earlier; the handled share comes with the call counts
    assert asked == [("p1_median",)] * 2
    _, kpis = overview.overview_kpis(backend, f, dt.date(2024, 3, 1), dt.date(2025, 3, 31))
    assert [(k.key, k.value, k.previous) for k in kpis] == [
        (k.key, k.value, k.previous) for k in cards.headline]


def test_the_overview_imports_no_scipy_until_a_change_is_tested() -> None:
    # scipy.stats costs ~0.5 s to import; the Overview's default view (the whole data span)
    # compares no counts, so its first render must not pay for it (poisson_change imports
    # it inside exact_p).
    code = ("import sys; import ui.state, ui.components, ui.cache, analytics.overview, "
            "analytics.offload, analytics.catalog; "
            "from analytics import poisson_change as pc; "
            "before = 'scipy.stats' in sys.modules; pc.exact_p(16, 4); "
            "print(before, 'scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1])
    assert out.stdout.split() == ["False", "True"]


def test_overview_cards_are_the_target_kpis_of_offload(demo_con) -> None:
    """The cards' handled share and its monthly trend come from the call counts' scan;
    offload's own path (target_kpis: kpi_values and kpi_monthly) gives the same."""
    from analytics import catalog, offload

    b = db.ibis_backend(demo_con)
    opts = catalog.filter_options(b)
    lo, hi = opts.min_date, opts.max_date
    year = Filters(start=dt.date(hi.year - 1, hi.month, 1), end=hi)
    tmap = offload.target_map(b)
    assert "cso_share" in tmap  # the demo city has a handled-share target
    for f in (Filters(), year, year.with_(districts=opts.districts[:1]),
              year.with_(priorities=(1, 2), exclude_sensitive=True)):
        cards = overview.overview_cards(b, f, lo, hi)
        _, kpis = offload.target_kpis(b, f, lo, hi, only_targeted=True)
        assert [k.key for k in cards.targeted] == [k.key for k in kpis]
        for got, want in zip(cards.targeted, kpis, strict=True):
            assert got.value == pytest.approx(want.value, rel=1e-12)
            assert (got.previous is None) == (want.previous is None)
            if want.previous is not None:
                assert got.previous == pytest.approx(want.previous, rel=1e-12)
            assert got.trend == pytest.approx(want.trend, rel=1e-12)
        now = f.with_(start=cards.period.start, end=cards.period.end)
        assert cards.headline[0].value == core_calls.calls(b, now).count().to_pandas()
