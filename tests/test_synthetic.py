"""The synthetic demo city: schema, determinism, invariants and planted effects.

Uses the session demo city (60,000 calls, seed 7, ``conftest.demo_con``) and a few
20,000-call builds. Tolerances for planted effects are about three standard errors at
these counts; expected values come from the truth (its parameters are stated in
``docs/demo_city.md``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest
import shapely

from analytics import db, synthetic
from analytics.errors import OptionError

SMALL = 20_000


def _rows(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()


def _checksums(con) -> dict[str, tuple[int, int]]:
    out = {}
    for t in (*db.CANONICAL_TABLES, "settings", "call_facts"):
        # table names from the fixed list above
        out[t] = tuple(_rows(con, f"SELECT count(*), sum(hash(t) % 1000000007) FROM {t} t")[0])
    return out


@pytest.fixture(scope="module")
def truth(demo_con) -> dict:
    return json.loads(db.scalar(demo_con, "SELECT value FROM settings WHERE key = 'demo_truth'"))


@pytest.fixture(scope="module")
def small_pair() -> tuple[dict, dict, dict]:
    """Checksums of two builds with seed 1 and one with seed 2 (20,000 calls each)."""
    sums = []
    for seed in (1, 1, 2):
        con = db.connect(":memory:")
        synthetic.build_demo(con, n_calls=SMALL, seed=seed)
        sums.append(_checksums(con))
        con.close()
    return tuple(sums)


# -- API, files, schema --------------------------------------------------------------------
def test_build_demo_database_writes_db_and_truth(tmp_path: Path) -> None:
    path = tmp_path / "city.duckdb"
    seen: list[tuple[float, str]] = []
    truth = synthetic.build_demo_database(path, n_calls=SMALL, seed=3,
                                          progress=lambda f, msg: seen.append((f, msg)))
    assert truth["n_calls"] == SMALL
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(isinstance(msg, str) and msg for _, msg in seen)
    assert path.exists()
    side = tmp_path / "city_truth.json"
    assert json.loads(side.read_text()) == truth
    # no temporary file left next to it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city.duckdb", "city_truth.json"]
    con = db.connect(path, read_only=True)
    try:
        stored = json.loads(db.scalar(con, "SELECT value FROM settings WHERE key = 'demo_truth'"))
        assert stored == truth
        assert db.scalar(con, "SELECT count(*) FROM calls") == SMALL
    finally:
        con.close()


def test_failed_build_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    from analytics import facts

    def boom(con):
        raise RuntimeError("disk full")

    monkeypatch.setattr(facts, "refresh_derived", boom)
    path = tmp_path / "city.duckdb"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        synthetic.build_demo_database(path, n_calls=SMALL, seed=3)
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city.duckdb"]


def test_truth_path_default_db_goes_to_data() -> None:
    assert synthetic.truth_path_for(db.DEFAULT_DB_PATH) == db.PROJECT_ROOT / "data" / "demo_truth.json"
    assert synthetic.truth_path_for("/x/y/other.duckdb") == Path("/x/y/other_truth.json")


def test_build_refuses_non_empty_and_tiny() -> None:
    con = db.connect(":memory:")
    with pytest.raises(OptionError):
        synthetic.build_demo(con, n_calls=10, seed=1)
    synthetic.build_demo(con, n_calls=SMALL, seed=1)
    with pytest.raises(OptionError, match="empty"):
        synthetic.build_demo(con, n_calls=SMALL, seed=1)
    con.close()


def test_schema_round_trip(demo_db_path: Path, tmp_path: Path) -> None:
    """Every generated table loads into a freshly created canonical schema unchanged
    (same column types; primary keys and CHECK constraints hold) and reads back identically."""
    fresh = db.connect(tmp_path / "fresh.duckdb")
    # path from the test fixture, not user input
    fresh.execute(f"ATTACH '{demo_db_path}' AS demo (READ_ONLY)")
    try:
        for t in db.CANONICAL_TABLES:
            cols = "SELECT column_name, data_type FROM information_schema.columns " \
                   "WHERE table_catalog = ? AND table_name = ? ORDER BY ordinal_position"
            assert _rows(fresh, cols, ["demo", t]) == _rows(fresh, cols, ["fresh", t]), t
            fresh.execute(f"INSERT INTO {t} SELECT * FROM demo.{t}")  # fixed table names
            n_diff = db.scalar(fresh, f"SELECT count(*) FROM (SELECT * FROM demo.{t} EXCEPT ALL "
                                      f"SELECT * FROM {t})")
            assert n_diff == 0, t
            assert db.scalar(fresh, f"SELECT count(*) FROM {t}") == db.scalar(
                fresh, f"SELECT count(*) FROM demo.{t}")
    finally:
        fresh.close()


def test_every_table_filled(demo_con, truth) -> None:
    counts = db.table_counts(demo_con)
    for t in db.CANONICAL_TABLES:
        assert counts[t] > 0, t
    assert counts["calls"] == 60_000 == truth["n_calls"]
    assert counts["call_facts"] == 60_000
    assert counts["incidents"] == truth["n_incidents"]
    assert counts["activities"] == truth["n_activities"]


# -- determinism -----------------------------------------------------------------------------
def test_same_seed_same_tables(small_pair) -> None:
    a, b, _ = small_pair
    assert a == b


def test_different_seed_differs(small_pair) -> None:
    a, _, c = small_pair
    for t in ("calls", "assignments", "incidents", "activities", "areas"):
        assert a[t] != c[t], t


# -- invariants ------------------------------------------------------------------------------
def test_call_times_ordered(demo_con) -> None:
    bad = _rows(demo_con, """
        SELECT
          count(*) FILTER (WHERE dispatched_at < received_at),
          count(*) FILTER (WHERE enroute_at < dispatched_at),
          count(*) FILTER (WHERE arrived_at < enroute_at OR arrived_at < dispatched_at),
          count(*) FILTER (WHERE arrived_at < received_at),
          count(*) FILTER (WHERE cleared_at < coalesce(arrived_at, enroute_at, dispatched_at, received_at)),
          count(*) FILTER (WHERE arrived_at IS NOT NULL AND dispatched_at IS NULL)
        FROM calls""")[0]
    assert bad == (0, 0, 0, 0, 0, 0)


def test_assignment_times_ordered(demo_con) -> None:
    bad = _rows(demo_con, """
        SELECT
          count(*) FILTER (WHERE a.dispatched_at < c.received_at),
          count(*) FILTER (WHERE a.enroute_at < a.dispatched_at),
          count(*) FILTER (WHERE a.arrived_at < a.enroute_at),
          count(*) FILTER (WHERE a.cleared_at < coalesce(a.arrived_at, a.enroute_at, a.dispatched_at)),
          count(*) FILTER (WHERE a.dispatched_at IS NULL OR a.cleared_at IS NULL)
        FROM assignments a JOIN calls c USING (call_id)""")[0]
    assert bad == (0, 0, 0, 0, 0)
    orphans = db.scalar(demo_con, """
        SELECT count(*) FROM assignments a ANTI JOIN calls c USING (call_id)""")
    assert orphans == 0


def test_call_first_unit_matches_assignments(demo_con) -> None:
    bad = db.scalar(demo_con, """
        WITH f AS (SELECT call_id, min(dispatched_at) d, min(arrived_at) a, max(cleared_at) cl,
                          count(*) FILTER (WHERE is_primary) np
                   FROM assignments GROUP BY 1)
        SELECT count(*) FROM calls c JOIN f USING (call_id)
        WHERE c.dispatched_at <> f.d OR c.arrived_at IS DISTINCT FROM f.a
           OR c.cleared_at <> f.cl OR f.np <> 1""")
    assert bad == 0


def test_segments_non_negative(demo_con) -> None:
    row = _rows(demo_con, """
        SELECT min(queue_s), min(travel_s), min(total_s), min(sworn_total_s),
               count(*) FILTER (WHERE n_units > 0 AND total_s IS NULL)
        FROM call_facts""")[0]
    assert row[0] >= 0 and row[1] >= 0 and row[2] >= 0 and row[3] >= 0
    # cancelled calls (no unit arrived) exist but are rare
    assert 0 < row[4] < 0.02 * 60_000


def test_officer_initiated_have_no_queue(demo_con) -> None:
    row = _rows(demo_con, """
        SELECT count(*), count(*) FILTER (WHERE dispatched_at <> received_at
                                            OR arrived_at <> received_at),
               count(*) FILTER (WHERE source <> 'officer_initiated')
        FROM calls WHERE self_initiated""")[0]
    assert row[0] > 0
    assert row[1:] == (0, 0)


def test_beats_inside_districts(demo_con) -> None:
    for t in ("calls", "incidents", "activities"):
        bad = db.scalar(demo_con, f"""
            SELECT count(*) FROM {t} x LEFT JOIN areas a ON a.area_id = x.beat AND a.level = 'beat'
            WHERE a.parent_id IS DISTINCT FROM x.district""")  # fixed table names
        assert bad == 0, t


def test_areas_geometry(demo_con) -> None:
    rows = _rows(demo_con, "SELECT area_id, level, parent_id, geometry, population FROM areas")
    beats = {r[0]: r for r in rows if r[1] == "beat"}
    districts = {r[0]: r for r in rows if r[1] == "district"}
    assert sorted(districts) == ["D1", "D2", "D3", "D4"]
    assert 20 <= len(beats) <= 28
    assert all(b.startswith(f"{r[2]}-B") for b, r in beats.items())
    geoms = {k: shapely.from_geojson(r[3]) for k, r in {**beats, **districts}.items()}
    for k, g in geoms.items():
        assert g.is_valid and g.area > 0, k
        lon, lat = g.centroid.x, g.centroid.y
        assert 38.3 < lat < 38.9 and -121.8 < lon < -121.1, k
    # a district is the union of its beats
    for d in districts:
        union = shapely.union_all([geoms[b] for b, r in beats.items() if r[2] == d])
        assert abs(union.area - geoms[d].area) / geoms[d].area < 0.01
    # beats do not overlap (shared borders only)
    ids = sorted(beats)
    total = sum(geoms[b].area for b in ids)
    assert abs(shapely.union_all([geoms[b] for b in ids]).area - total) / total < 1e-6
    assert sum(r[4] for r in beats.values()) == sum(r[4] for r in districts.values())


def test_points_inside_their_beat(demo_con) -> None:
    polys = {a: shapely.from_geojson(g) for a, g in
             _rows(demo_con, "SELECT area_id, geometry FROM areas WHERE level = 'beat'")}
    for t in ("calls", "incidents", "activities"):
        sample = _rows(demo_con, f"SELECT beat, lon, lat FROM {t} USING SAMPLE 1500 ROWS (reservoir, 42)")
        geoms = np.array([polys[b] for b, _, _ in sample], dtype=object)
        inside = shapely.contains_xy(geoms, np.array([s[1] for s in sample]),
                                     np.array([s[2] for s in sample]))
        assert inside.all(), t


def test_call_types_and_crosswalk(demo_con) -> None:
    ct = {r[0]: r[1:] for r in _rows(demo_con,
          "SELECT call_type, category, cso_tier, sensitive FROM call_types")}
    used = {r[0] for r in _rows(demo_con, "SELECT DISTINCT call_type FROM calls")}
    assert len(used) >= 40
    assert used <= set(ct)
    initial = {r[0] for r in _rows(demo_con, "SELECT DISTINCT call_type_initial FROM calls")}
    assert initial <= set(ct)
    assert {t for _, t, _ in ct.values()} == {"cso_only", "cso_with_backup", "co_response", "sworn_only"}
    for code in ("DOMESTIC", "SEX_ASSAULT", "JUVENILE", "MENTAL_HEALTH"):
        assert ct[code][2] is True, code
    assert "SUSPICIOUS" in used and ct["SUSPICIOUS"][0] == "suspicious"


def test_priorities_sources_dispositions(demo_con) -> None:
    assert {r[0] for r in _rows(demo_con, "SELECT DISTINCT priority FROM calls")} == {1, 2, 3, 4, 5}
    assert {r[0] for r in _rows(demo_con, "SELECT DISTINCT source FROM calls")} == {
        "911", "non_emergency", "online", "officer_initiated"}
    # priority 5 = online / telephone reports: no unit sent
    assert db.scalar(demo_con, "SELECT count(*) FROM call_facts WHERE priority = 5 AND n_units > 0") == 0
    assert db.scalar(demo_con, "SELECT count(*) FROM call_facts WHERE priority < 5 AND n_units = 0") == 0
    assert db.scalar(demo_con, "SELECT count(DISTINCT disposition) FROM calls") >= 8
    lo, hi = _rows(demo_con, "SELECT min(received_at), max(received_at) FROM calls")[0]
    assert lo.year == 2022 and hi.year == 2025


def test_units_prefix_rule(demo_con) -> None:
    rows = _rows(demo_con, "SELECT unit_id, unit_type, home_district FROM units")
    for uid, typ, _ in rows:
        assert (typ == "sworn") == uid[0].isdigit(), uid
        assert (typ == "cso") == uid.startswith("CSO"), uid
    assert db.scalar(demo_con, "SELECT count(*) FROM assignments ANTI JOIN units USING (unit_id)") == 0
    # several units on priority-1 calls (C3)
    p1_units = db.scalar(demo_con, "SELECT avg(n_units) FROM call_facts WHERE priority = 1 AND NOT self_initiated")
    assert p1_units > 2.5


def test_staffing_complete(demo_con) -> None:
    n_days = 1461
    assert db.scalar(demo_con, "SELECT count(*) FROM staffing WHERE unit_type = 'sworn'") == n_days * 24 * 4
    assert db.scalar(demo_con, "SELECT min(on_duty_hours) FROM staffing WHERE unit_type = 'sworn'") >= 1
    # CSOs only in treated districts, from their start date
    first = dict(_rows(demo_con, "SELECT district, min(date) FROM staffing WHERE unit_type = 'cso' GROUP BY 1"))
    assert sorted(first) == ["D1", "D2", "D3"]
    assert str(first["D1"]) == "2023-07-01"


def test_deployments_staggered(demo_con, truth) -> None:
    rows = _rows(demo_con, "SELECT area_id, start_date, cso_count FROM deployments")
    starts = {}
    for area, start, n in rows:
        starts.setdefault(area[:2], set()).add(str(start))
        assert n >= 1
    assert starts == {"D1": {"2023-07-01"}, "D2": {"2024-04-01"}, "D3": {"2025-04-01"}}
    assert sorted(truth["treated_beats"]) == sorted(r[0] for r in rows)


def test_activities_and_dose_vary(demo_con, truth) -> None:
    types = {r[0] for r in _rows(demo_con, "SELECT DISTINCT activity_type FROM activities")}
    assert {"foot_patrol", "traffic_control", "community_event", "outreach_referral",
            "nuisance_abatement", "report_writing", "vehicle_patrol"} <= types
    # CSO foot-patrol hours per week after start, per treated beat
    dose = dict(_rows(demo_con, """
        SELECT a.beat, sum(epoch(a.ended_at - a.started_at)) / 3600
               / (date_diff('day', d.start_date, DATE '2026-01-01') / 7.0)
        FROM activities a JOIN deployments d ON d.area_id = a.beat
        WHERE a.activity_type = 'foot_patrol' GROUP BY a.beat, d.start_date"""))
    assert len(dose) == len(truth["treated_beats"])
    assert max(dose.values()) > 2.5 * min(dose.values())
    for dep in truth["deployments"]:
        assert dose[dep["beat"]] == pytest.approx(dep["planned_foot_patrol_h_per_week"], rel=0.15)
    # no CSO activity outside treated beat-periods
    assert db.scalar(demo_con, """
        SELECT count(*) FROM activities a JOIN units u USING (unit_id)
        LEFT JOIN deployments d ON d.area_id = a.beat AND a.started_at >= d.start_date
        WHERE u.unit_type = 'cso' AND d.area_id IS NULL""") == 0


def test_calibration_rough(demo_con) -> None:
    """Headline calibration figures (CALIBRATION.md A2, A4, B1, B2, F3, F4)."""
    oi, online = _rows(demo_con, """
        SELECT avg(self_initiated::INT), avg((source = 'online')::INT) FROM calls""")[0]
    assert 0.42 < oi < 0.50
    assert 0.055 < online < 0.075
    mix = dict(_rows(demo_con, """SELECT priority, count(*) / sum(count(*)) OVER ()
        FROM call_facts WHERE NOT self_initiated AND n_units > 0 GROUP BY 1"""))
    for p, share in {1: 0.03, 2: 0.08, 3: 0.63, 4: 0.26}.items():
        assert abs(mix[p] - share) < 0.02, p
    means = dict(_rows(demo_con, """SELECT priority, avg(queue_s) / 60 FROM call_facts
        WHERE NOT self_initiated AND n_units > 0 AND day < DATE '2023-07-01' GROUP BY 1"""))
    for p, q in {1: 2.7, 2: 6.6, 3: 10.5, 4: 16.5}.items():
        assert q * 0.75 < means[p] < q * 1.3, p
    by_hour = dict(_rows(demo_con, """SELECT hour, count(*) FROM call_facts
        WHERE NOT self_initiated AND weekday <= 5 GROUP BY 1"""))
    assert max(by_hour, key=by_hour.get) in (15, 16, 17)
    assert min(by_hour, key=by_hour.get) in (4, 5, 6)
    by_wd = dict(_rows(demo_con, "SELECT weekday, count(*) FROM call_facts GROUP BY 1"))
    assert min(by_wd, key=by_wd.get) == 7


# -- planted effects -------------------------------------------------------------------------
TREATED_POST = "JOIN deployments d ON d.area_id = c.beat AND c.day >= d.start_date"


def test_cso_primary_share(demo_con, truth) -> None:
    eff = truth["effects"]["cso_primary_share"]
    share, backup, n = _rows(demo_con, f"""
        SELECT avg(cso_primary::INT), avg(cso_backup::INT) FILTER (WHERE cso_primary), count(*)
        FROM call_facts c {TREATED_POST}
        WHERE eligible AND NOT self_initiated AND n_units > 0""")[0]
    se = math.sqrt(eff["expected"]["share"] * (1 - eff["expected"]["share"]) / n)
    assert abs(share - eff["expected"]["share"]) < 3 * se + 0.005
    assert 0.30 < eff["expected"]["share"] < 0.40
    assert abs(backup - eff["expected"]["backup_rate"]) < 0.04
    outside = db.scalar(demo_con, """
        SELECT count(*) FROM call_facts c
        LEFT JOIN deployments d ON d.area_id = c.beat AND c.day >= d.start_date
        WHERE c.cso_primary AND d.area_id IS NULL""")
    assert outside == 0


def _did_log_rr(con, count_sql: str) -> float:
    """Poisson regression of beat-month counts on beat and month fixed effects and a
    treated-post indicator; returns the coefficient (log rate ratio)."""
    import pandas as pd
    import statsmodels.api as sm

    df = con.execute(f"""
        WITH grid AS (
            SELECT b.area_id AS beat, m.month
            FROM areas b,
                 (SELECT CAST(unnest(generate_series(DATE '2022-01-01', DATE '2025-12-01',
                                                     INTERVAL 1 MONTH)) AS DATE) AS month) m
            WHERE b.level = 'beat'),
        counts AS ({count_sql})
        SELECT g.beat, g.month, coalesce(c.n, 0) AS n,
               (d.start_date IS NOT NULL AND g.month >= d.start_date)::INT AS treated
        FROM grid g
        LEFT JOIN counts c ON c.beat = g.beat AND c.month = g.month
        LEFT JOIN deployments d ON d.area_id = g.beat
        ORDER BY 1, 2""").df()
    x = pd.get_dummies(df[["beat"]].astype(str), drop_first=True, dtype=float)
    x = x.join(pd.get_dummies(df["month"].astype(str), prefix="m", drop_first=True, dtype=float))
    x["treated"] = df["treated"].astype(float)
    x = sm.add_constant(x)
    fit = sm.GLM(df["n"].astype(float), x, family=sm.families.Poisson()).fit()
    return float(fit.params["treated"])


def test_low_level_property_falls(demo_con, truth) -> None:
    expected = math.log(truth["effects"]["low_level_property"]["expected"]["average_rate_ratio"])
    assert expected < -0.1
    est = _did_log_rr(demo_con, """
        SELECT beat, CAST(date_trunc('month', occurred_at) AS DATE) AS month, count(*) AS n
        FROM incidents WHERE offense IN ('PETTY THEFT', 'VANDALISM') GROUP BY 1, 2""")
    assert est < 0
    assert abs(est - expected) < 0.2


def test_violent_crime_null(demo_con) -> None:
    est = _did_log_rr(demo_con, """
        SELECT beat, CAST(date_trunc('month', occurred_at) AS DATE) AS month, count(*) AS n
        FROM incidents WHERE offense_category = 'violent' GROUP BY 1, 2""")
    assert abs(est) < 0.2


def test_violent_ratio_pre_post_near_one(demo_con) -> None:
    """Raw 2×2: D1 beats vs never-treated D4 beats, before/after 2023-07-01."""
    r = dict(_rows(demo_con, """
        SELECT district || (occurred_at >= DATE '2023-07-01')::INT, count(*) FROM incidents
        WHERE offense_category = 'violent' AND district IN ('D1', 'D4') GROUP BY 1"""))
    ratio = (r["D11"] / r["D10"]) / (r["D41"] / r["D40"])
    assert 0.75 < ratio < 1.33


def test_suspicious_calls_rise(demo_con, truth) -> None:
    expected = math.log(truth["effects"]["suspicious_calls"]["parameter"]["rate_ratio"])
    est = _did_log_rr(demo_con, """
        SELECT beat, CAST(date_trunc('month', received_at) AS DATE) AS month, count(*) AS n
        FROM calls WHERE call_type = 'SUSPICIOUS' GROUP BY 1, 2""")
    assert abs(est - expected) < 0.15


def test_officer_initiated_rise(demo_con, truth) -> None:
    expected = math.log(truth["effects"]["officer_initiated"]["parameter"]["rate_ratio"])
    est = _did_log_rr(demo_con, """
        SELECT beat, CAST(date_trunc('month', received_at) AS DATE) AS month, count(*) AS n
        FROM calls WHERE self_initiated GROUP BY 1, 2""")
    assert abs(est - expected) < 0.06


def test_p12_response_improves(demo_con, truth) -> None:
    """Log total response time of P1–2 public calls regressed on beat and month fixed
    effects and a treated-post indicator recovers the planted change."""
    import pandas as pd
    import statsmodels.api as sm

    eff = truth["effects"]["p12_response_time"]
    assert -3.0 < eff["expected"]["att_median_total_min"] < -0.5
    assert eff["parameter"]["queue_time_factor"] < 1
    df = demo_con.execute("""
        SELECT c.beat, CAST(c.month AS VARCHAR) AS month, ln(c.total_s) AS y,
               coalesce(c.day >= d.start_date, false)::DOUBLE AS treated
        FROM call_facts c LEFT JOIN deployments d ON d.area_id = c.beat
        WHERE NOT c.self_initiated AND c.priority <= 2 AND c.total_s > 0""").df()
    x = pd.get_dummies(df[["beat", "month"]], drop_first=True, dtype=float)
    x["treated"] = df["treated"]
    fit = sm.OLS(df["y"], sm.add_constant(x)).fit()
    expected = eff["expected"]["att_mean_log_total"]
    assert expected < -0.05
    assert abs(fit.params["treated"] - expected) < 0.08


def test_beat_month_truth_by_hand() -> None:
    """The urgent-response estimand: per beat-month median(y1) − median(y0), averaged over
    the cohort's beats with calls in the month, then over group-time cells weighted by the
    cohort's number of beats (the simple aggregation's P(G = g)); the 24 h cap applies to
    each potential outcome's cell as in the panel."""
    from analytics.synthetic import _params as P
    from analytics.synthetic._truth import beat_month_truth

    # beats 0, 1 start 2022-03-01 (month 2), beat 2 on 2022-04-01 (month 3), beat 3 never
    start = np.array([59, 59, 90, P.N_DAYS])
    rows = [  # (beat, month, y1, y0)
        (0, 2, 5, 6), (0, 2, 7, 8), (0, 2, 9, 12),  # medians 7 vs 8: τ −1
        (1, 2, 4, 6), (1, 2, 6, 8),  # 5 vs 7: τ −2
        (0, 3, 3, 4),  # τ −1; beat 1 has no call in month 3
        (2, 3, 10, 13), (2, 3, 2000, 11),  # 2000 min > cap: actual 10, counterfactual 12
        (2, 4, 2000, 30),  # no actual call within the cap: the panel has no value here
    ]
    b, mo, y1, y0 = (np.array(c) for c in zip(*rows, strict=True))
    got = beat_month_truth({"beat": b, "month": mo, "y1": y1.astype(float),
                            "y0": y0.astype(float)}, start, ["A", "A", "B", "C"])
    # ATT(2,2) = −1.5, ATT(2,3) = −1, ATT(3,3) = −2; weights 2, 2, 1
    assert got["att"] == pytest.approx((2 * -1.5 + 2 * -1 + 1 * -2) / 5)  # −1.4
    assert got["mean_actual"] == pytest.approx((2 * 6 + 2 * 3 + 10) / 5)
    assert got["mean_counterfactual"] == pytest.approx((2 * 7.5 + 2 * 4 + 12) / 5)
    assert got["by_cohort"] == pytest.approx({"A": -1.25, "B": -2.0})
    assert (got["n_cells"], got["n_group_time"]) == (4, 3)


def test_beat_month_truth_cells_are_the_panel_cells(demo_con, truth) -> None:
    """The truth's actual beat-month medians are the cells the Evaluation panel holds:
    public P1–2 calls with a dispatch and an arrival, no negative segment, total ≤ 24 h,
    month of received_at, treated beats from the start month on. Their weighted average
    (same weights as the estimand) must equal the truth's figure from the generator."""
    exp = truth["effects"]["p12_response_time"]["expected"]
    mean, cells, gt = _rows(demo_con, """
        WITH cell AS (
            SELECT date_trunc('month', d.start_date) AS g,
                   date_trunc('month', c.received_at) AS t, c.beat,
                   median(c.total_s) / 60.0 AS med
            FROM call_facts c JOIN deployments d ON d.area_id = c.beat
            WHERE NOT c.self_initiated AND c.priority IN (1, 2)
              AND c.first_dispatched_at IS NOT NULL AND c.first_arrived_at IS NOT NULL
              AND c.queue_s >= 0 AND c.travel_s >= 0 AND c.total_s <= 24 * 3600
              AND date_trunc('month', c.received_at) >= date_trunc('month', d.start_date)
            GROUP BY ALL),
        gt AS (SELECT g, t, avg(med) AS m FROM cell GROUP BY ALL),
        ng AS (SELECT date_trunc('month', start_date) AS g, count(*) AS n
               FROM deployments GROUP BY 1)
        SELECT sum(m * n) / sum(n), (SELECT count(*) FROM cell), count(*)
        FROM gt JOIN ng USING (g)""")[0]
    assert exp["mean_beat_month_median_treated_post_min"] == pytest.approx(mean, abs=1e-5)
    assert (exp["n_beat_months"], exp["n_group_time_cells"]) == (cells, gt)
    # the programme shortens urgent response in every cohort
    assert exp["att_beat_month_median_min"] < -0.5
    assert all(v < 0 for v in exp["att_beat_month_median_by_cohort"].values())
    assert exp["mean_beat_month_median_treated_post_counterfactual_min"] == pytest.approx(
        exp["mean_beat_month_median_treated_post_min"] - exp["att_beat_month_median_min"],
        abs=1e-5)


def test_demo_truth_json_committed_matches_spec() -> None:
    """The committed truth of the default demo (1M calls, seed 20220101) is well formed."""
    path = db.PROJECT_ROOT / "data" / "demo_truth.json"
    if not path.exists():
        pytest.skip("data/demo_truth.json not built yet")
    truth = json.loads(path.read_text())
    assert truth["n_calls"] == 1_000_000 and truth["seed"] == 20220101
    for name in ("cso_primary_share", "p12_response_time", "low_level_property",
                 "suspicious_calls", "officer_initiated", "violent_crime"):
        eff = truth["effects"][name]
        for key in ("outcome", "definition", "parameter", "expected", "how_to_measure",
                    "treated_beats", "start_dates"):
            assert key in eff, (name, key)


def test_read_only_connection_is_read_only(demo_con) -> None:
    with pytest.raises(duckdb.Error):
        demo_con.execute("DELETE FROM calls")
