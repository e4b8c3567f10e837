"""Crime trends (PRODUCT.md section 3) on a tiny hand-built incident table.

Anchor date 31 Mar 2024 (filter end). 2024 is a leap year, so:
- 28-day current = 4 Mar … 31 Mar 2024, previous = 5 Feb … 3 Mar 2024;
- 365-day current = 2 Apr 2023 … 31 Mar 2024, previous = 2 Apr 2022 … 1 Apr 2023;
- YTD = 1 Jan … 31 Mar 2024 against 1 Jan … 31 Mar 2023; prior full year = 2023.

Incidents (category, date, beat, how many):
  property  2024-03-10  D1-B01  16     violent 2024-03-20 D1-B02 25
  property  2024-02-10  D1-B01   4     violent 2024-02-20 D1-B02 16
  property  2023-03-10  D1-B01   9     property 2023-11-01 D1-B01  5
  quality_of_life 2024-03-04 00:00 D1-B02 1 (first minute of the current 28 days)
  quality_of_life 2024-03-03 23:59 D1-B02 1 (last minute of the previous 28 days)
  other, occurred NULL, reported 2024-03-15 D1-B01 1 (dated by its report)
  NULL category, 2024-03-31 23:00 D2-B01 1 (uncategorised)
  property, no occurrence and no report time, 1 (never counted)
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from analytics import crime_trends as ct
from analytics import db
from analytics.errors import InsufficientDataError
from analytics.filters import Filters

ANCHOR = dt.date(2024, 3, 31)
F = Filters(start=dt.date(2024, 2, 1), end=ANCHOR)




def z(cur: float, prev: float, k: float = 1.0) -> float:
    """Poisson z against k earlier windows' total (docs/metrics.md), written out."""
    return 2 * (math.sqrt(cur) - math.sqrt(prev / k)) / math.sqrt(1 + 1 / k)


def exact_p_half(cur: int, prev: int) -> float:
    """Two-sided exact conditional test for equal windows: 2·P(X ≥ max), X ~ Bin(n, ½)."""
    n, hi = cur + prev, max(cur, prev)
    return min(1.0, 2 * sum(math.comb(n, j) for j in range(hi, n + 1)) / 2**n)


def _insert(con, rows):
    con.executemany(
        "INSERT INTO incidents (incident_id, occurred_at, reported_at, offense, "
        "offense_category, district, beat) VALUES (?,?,?,?,?,?,?)", rows)


@pytest.fixture()
def backend():
    con = db.connect(":memory:")
    con.execute("INSERT INTO areas VALUES ('D1','district','D1',NULL,NULL,3000),"
                "('D2','district','D2',NULL,NULL,NULL),"
                "('D1-B01','beat','D1-B01','D1',NULL,1000),"
                "('D1-B02','beat','D1-B02','D1',NULL,2000),"
                "('D2-B01','beat','D2-B01','D2',NULL,NULL)")
    rows, n = [], 0

    def add(cat, when, beat, k, reported=None):
        nonlocal n
        for _ in range(k):
            n += 1
            rows.append((f"i{n}", when, reported, "x", cat, beat[:2], beat))

    noon = dt.time(12)
    add("property", dt.datetime.combine(dt.date(2024, 3, 10), noon), "D1-B01", 16)
    add("property", dt.datetime.combine(dt.date(2024, 2, 10), noon), "D1-B01", 4)
    add("property", dt.datetime.combine(dt.date(2023, 3, 10), noon), "D1-B01", 9)
    add("property", dt.datetime.combine(dt.date(2023, 11, 1), noon), "D1-B01", 5)
    add("violent", dt.datetime.combine(dt.date(2024, 3, 20), noon), "D1-B02", 25)
    add("violent", dt.datetime.combine(dt.date(2024, 2, 20), noon), "D1-B02", 16)
    add("quality_of_life", dt.datetime(2024, 3, 4, 0, 0), "D1-B02", 1)
    add("quality_of_life", dt.datetime(2024, 3, 3, 23, 59), "D1-B02", 1)
    add("other", None, "D1-B01", 1, reported=dt.datetime(2024, 3, 15, 8))
    add(None, dt.datetime(2024, 3, 31, 23, 0), "D2-B01", 1)
    add("property", None, "D1-B01", 1)
    _insert(con, rows)
    yield db.ibis_backend(con)
    con.close()


def get(df, **match):
    sel = df
    for k, v in match.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, match
    return sel.iloc[0]


def test_28_day_windows_by_hand(backend):
    w = ct.window_comparison(backend, F).frame
    w28 = w[w.window == "28-day"]
    r = get(w28, offense_category="property")
    assert (r.current_start, r.current_end) == (dt.date(2024, 3, 4), ANCHOR)
    assert (r.previous_start, r.previous_end) == (dt.date(2024, 2, 5), dt.date(2024, 3, 3))
    # 16 vs 4: z = √2(4 − 2) = 2.83; exact p = 2·6196/2^20 = 0.0118 > 0.0027 → the BH q
    # (≥ p) cannot flag it; previous < 10 → no percent change
    assert (r.current, r.previous) == (16, 4)
    assert r.z == pytest.approx(2 * math.sqrt(2))
    assert r.p_exact == pytest.approx(2 * 6196 / 2**20) and not r.flagged
    assert pd.isna(r["pct_change"])
    v = get(w28, offense_category="violent")
    # 25 vs 16: z = √2(5 − 4) = 1.41, not flagged; +56.25 %
    assert (v.current, v.previous, v.z, v.flagged) == (25, 16, pytest.approx(math.sqrt(2)),
                                                       False)
    assert v["pct_change"] == pytest.approx(56.25)
    q = get(w28, offense_category="quality_of_life")
    assert (q.current, q.previous) == (1, 1)        # the two boundary minutes
    assert get(w28, offense_category="other").current == 1   # dated by reported_at
    assert get(w28, offense_category="uncategorised").current == 1
    a = get(w28, offense_category="all")
    # 16+25+1+1+1 = 44 vs 4+16+1 = 21: z = √2(√44 − √21) = √2(6.63325 − 4.58258) = 2.90008
    assert (a.current, a.previous) == (44, 21)
    assert a.z == pytest.approx(2.90008, abs=1e-4)
    assert a.p_exact == pytest.approx(exact_p_half(44, 21), rel=1e-9)
    assert a["pct_change"] == pytest.approx((44 - 21) / 21 * 100)
    assert list(w28.offense_category)[0] == "all"


def test_365_day_window(backend):
    w = ct.window_comparison(backend, F).frame
    r = get(w[w.window == "365-day"], offense_category="property")
    assert (r.current_start, r.previous_start, r.previous_end) == (
        dt.date(2023, 4, 2), dt.date(2022, 4, 2), dt.date(2023, 4, 1))
    # current 16 + 4 + 5 = 25, previous 9: z = √2(5 − 3) = 2.83, no % (9 < 10)
    assert (r.current, r.previous) == (25, 9)
    assert r.z == pytest.approx(2 * math.sqrt(2)) and pd.isna(r["pct_change"])
    assert r.p_exact == pytest.approx(exact_p_half(25, 9), rel=1e-9)   # 0.0045: no flag
    assert not r.flagged


def test_window_flags_are_benjamini_hochberg_over_the_table(backend):
    from statsmodels.stats.multitest import multipletests

    w = ct.window_comparison(backend, F).frame
    p_hand = [exact_p_half(int(c), int(p)) for c, p in zip(w.current, w.previous, strict=True)]
    assert w.p_exact.tolist() == pytest.approx(p_hand, rel=1e-9)
    q = multipletests(p_hand, method="fdr_bh")[1]
    assert w.q_bh.tolist() == pytest.approx(q.tolist(), rel=1e-9)
    assert w.flagged.tolist() == [x < 0.0027 for x in q]
    shown = ct.display_changes(w)
    assert "Flag (BH q < 0.0027)" in shown.columns and "BH q (this table)" in shown.columns


def test_area_filter_and_category_choice(backend):
    w = ct.window_comparison(backend, F.with_(districts=("D1",)), ("property", "violent"))
    w28 = w.frame[w.frame.window == "28-day"]
    assert set(w28.offense_category) == {"all", "property", "violent"}
    assert get(w28, offense_category="all").current == 16 + 25
    # priority / call-category filters do not touch incidents
    same = ct.window_comparison(backend, F.with_(priorities=(1,), categories=("noise",)))
    assert get(same.frame, window="28-day", offense_category="all").current == 44


def test_ytd_against_prior_year(backend):
    y = ct.ytd_comparison(backend, F).frame
    p = get(y, offense_category="property")
    # YTD 2024: 16 + 4 = 20; same dates 2023: 9; all of 2023: 9 + 5 = 14
    assert (p.current, p.previous, p.prior_year_total) == (20, 9, 14)
    assert p.share_of_prior_year == pytest.approx(20 / 14)
    # 91 days (leap year) against 90: k = 90/91 earlier "windows" of the current length
    k = 90 / 91
    assert p.z == pytest.approx(z(20, 9, k))        # 2(4.47214 − 3.01662)/√2.01111 = 2.0527
    assert p.z == pytest.approx(2.0527, abs=1e-4)
    pi = 91 / 181                                    # 1/(1 + k)
    pmf = [math.comb(29, j) * pi**j * (1 - pi) ** (29 - j) for j in range(30)]
    assert p.p_exact == pytest.approx(sum(x for x in pmf if x <= pmf[20] * (1 + 1e-7)),
                                      rel=1e-9)
    assert not p.flagged and pd.isna(p["pct_change"])
    a = get(y, offense_category="all")
    # 2024 YTD: property 20 + violent 41 + quality of life 2 + other 1 + uncategorised 1
    assert (a.current, a.previous, a.prior_year_total) == (65, 9, 14)
    assert a.z == pytest.approx(z(65, 9, 90 / 91))
    assert a.flagged          # 65 vs 9: exact p ≈ 1e-12, far below 0.0027 after BH
    assert pd.isna(a["pct_change"])   # previous 9 < 10: no percent, however large the rise


def test_monthly_counts_fill_zero_and_rates(backend):
    m = ct.monthly_counts(backend, F).frame
    feb, mar = dt.date(2024, 2, 1), dt.date(2024, 3, 1)
    assert get(m, month=feb, offense_category="property").incidents == 4
    assert get(m, month=feb, offense_category="quality_of_life").incidents == 0  # filled
    assert get(m, month=mar, offense_category="quality_of_life").incidents == 2
    assert get(m, month=mar, offense_category="violent").incidents == 25
    assert not m["partial"].any()
    # D2 has no population → no rate for the whole city
    assert "rate_per_100k" not in m.columns
    d1 = ct.monthly_counts(backend, F.with_(districts=("D1",))).frame
    # D1 population 3000: 4 / 3000 × 100,000 = 133.33 per 100k in February
    assert get(d1, month=feb, offense_category="property").rate_per_100k == pytest.approx(
        133.333, abs=1e-3)
    b1 = ct.monthly_counts(backend, F.with_(beats=("D1-B01",)), by_category=False).frame
    # beat D1-B01 (1000 people), March: 16 property + 1 other = 17 → 1700 per 100k
    assert get(b1, month=mar).rate_per_100k == pytest.approx(1700.0)
    half = ct.monthly_counts(backend, Filters(start=dt.date(2024, 2, 15), end=ANCHOR)).frame
    assert half[half.month == feb]["partial"].all()


def test_population_rules(backend):
    assert ct.population(backend, Filters()) is None                   # D2 unknown
    assert ct.population(backend, Filters(districts=("D1",))) == 3000
    assert ct.population(backend, Filters(beats=("D1-B01", "D1-B02"))) == 3000
    assert ct.population(backend, Filters(beats=("D2-B01",))) is None


def test_empty_selection_is_not_an_error(backend):
    f = Filters(beats=("nowhere",))
    assert ct.monthly_counts(backend, f).frame.empty
    w = ct.window_comparison(backend, f).frame
    assert w.empty or (w["current"] == 0).all()


def test_display_has_no_nan(backend):
    d = ct.display_changes(ct.window_comparison(backend, F).frame)
    assert not d.isna().any().any()
    assert "n/a (count < 10)" in set(d["% change"])


@pytest.fixture()
def seasonal_backend():
    """36 months (2021–2023): 40 incidents a month plus 20 extra every July, on days 1–28,
    and one more on 31 Dec 2023 so the data cover the last month to its end."""
    con = db.connect(":memory:")
    rows, n = [], 0
    for year in (2021, 2022, 2023):
        for month in range(1, 13):
            for k in range(40 + (20 if month == 7 else 0)):
                n += 1
                rows.append((f"s{n}", dt.datetime(year, month, 1 + k % 28), None, "x",
                             "property", "D1", "D1-B01"))
    rows.append(("s_last", dt.datetime(2023, 12, 31), None, "x", "property", "D1", "D1-B01"))
    _insert(con, rows)
    yield db.ibis_backend(con)
    con.close()


def test_stl_finds_the_july_peak(seasonal_backend):
    res = ct.stl_decomposition(seasonal_backend, Filters())
    d = res.frame
    assert len(d) == 36
    recon = d["trend"] + d["seasonal"] + d["resid"]
    assert recon.to_numpy() == pytest.approx(d["observed"].to_numpy())
    july = d[[m.month == 7 for m in d["month"]]]["seasonal"]
    assert (july > 10).all()                        # the +20 July bump is seasonal
    assert d["trend"].between(35, 50).all()
    with pytest.raises(InsufficientDataError):
        ct.stl_decomposition(seasonal_backend, Filters(start=dt.date(2023, 1, 1)))


def test_demo_windows_agree_with_plain_sql(demo_con):
    """On the demo city: 28-day counts and z against a plain SQL count written here."""
    b = db.ibis_backend(demo_con)
    anchor = ct.anchor_date(b, Filters())
    (last,) = demo_con.execute(
        "SELECT max(CAST(coalesce(occurred_at, reported_at) AS DATE)) FROM incidents"
    ).fetchall()[0]
    assert anchor == last
    cur, prev = demo_con.execute(
        """SELECT count(*) FILTER (WHERE d BETWEEN ?::DATE - 27 AND ?::DATE),
                  count(*) FILTER (WHERE d BETWEEN ?::DATE - 55 AND ?::DATE - 28)
           FROM (SELECT CAST(coalesce(occurred_at, reported_at) AS DATE) AS d FROM incidents)""",
        [anchor, anchor, anchor, anchor]).fetchall()[0]
    w = ct.window_comparison(b, Filters()).frame
    a = get(w[w.window == "28-day"], offense_category="all")
    assert (a.current, a.previous) == (cur, prev)
    assert a.z == pytest.approx(math.sqrt(2) * (math.sqrt(cur) - math.sqrt(prev)))
    m = ct.monthly_counts(b, Filters()).frame
    (total,) = demo_con.execute("SELECT count(*) FROM incidents WHERE "
                                "coalesce(occurred_at, reported_at) IS NOT NULL").fetchall()[0]
    assert int(m["incidents"].sum()) == total
