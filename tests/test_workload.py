"""Workload, utilization and patrol time on the tiny hand-built city (tests/tiny_city.py).

Every expected number is computed by hand from the rows in tiny_city.py.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics import db, engines, facts, workload
from analytics.core import treatment
from analytics.errors import OptionError
from analytics.filters import Filters
from tests import tiny_city

ALL = Filters()


@pytest.fixture()
def con():
    c = tiny_city.connect()
    yield c
    c.close()


@pytest.fixture()
def backend(con):
    return db.ibis_backend(con)


def _staff_everything(con) -> None:
    """2 sworn on-duty hours in every hour of Jan–Feb 2024, in D1 and D2."""
    con.execute(
        "INSERT INTO staffing SELECT CAST(d AS DATE), h, dist, 'sworn', 2.0 "
        "FROM range(DATE '2024-01-01', DATE '2024-03-01', INTERVAL 1 DAY) t(d), "
        "range(24) r(h), (VALUES ('D1'), ('D2')) v(dist)"
    )


def test_unit_hours_by_type(backend) -> None:
    r = workload.workload_by_unit_type(backend, ALL)
    f = r.frame.set_index("unit_type")
    # Sworn: p1 1 + p2 (2 + 1) + p3 1 + p4 0.5 + p5 3×1 + q2 0.25 + q3 1 + q4 0.5 + q6 1/3
    #      = 10.25 + 1/3 h over 12 timed assignments; q4's S3 never cleared (13 in all).
    assert f.loc["sworn", "unit_hours"] == pytest.approx(10.25 + 1 / 3)
    assert f.loc["sworn", "assignments"] == 13
    assert f.loc["sworn", "timed_assignments"] == 12
    # CSO: q1 0.5 + q2 1 + q7 1.5 = 3 h.
    assert f.loc["cso", "unit_hours"] == pytest.approx(3.0)
    assert f["share_of_unit_hours"].sum() == pytest.approx(1.0)
    ex = r.exclusions.set_index("step")["assignments"]
    assert ex["no_clear"] == 1 and ex["no_start"] == 0 and ex["kept"] == 15
    assert r.sql and "assignments" in r.sql[0]


def test_unit_hours_by_district(backend) -> None:
    d = workload.workload_by_district(backend, ALL).frame.set_index(["district", "unit_type"])
    # D2 sworn: p3 1 + q3 1 = 2 h; D1 sworn = 10.25 + 1/3 − 2.
    assert d.loc[("D2", "sworn"), "unit_hours"] == pytest.approx(2.0)
    assert d.loc[("D1", "sworn"), "unit_hours"] == pytest.approx(8.25 + 1 / 3)
    # Timed sworn assignments in D1: p1 1, p2 2, p4 1, p5 3, q2 1, q4 1, q6 1 = 10.
    assert d.loc[("D1", "sworn"), "assignments"] == 10


def test_filters_apply_to_the_call(backend) -> None:
    f = workload.workload_by_unit_type(backend, Filters(districts=("D2",))).frame
    assert list(f["unit_type"]) == ["sworn"]
    assert f["unit_hours"].iloc[0] == pytest.approx(2.0)
    jan = workload.workload_by_unit_type(
        backend, Filters(start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 31))).frame
    # January is all sworn: 1 + 3 + 1 + 0.5 + 3 = 8.5 h.
    assert list(jan["unit_type"]) == ["sworn"]
    assert jan["unit_hours"].iloc[0] == pytest.approx(8.5)


def test_heatmap_spreads_over_clock_hours(backend) -> None:
    h = workload.workload_heatmap(backend, ALL, "cso").frame
    sat = h[h["weekday"] == 6].set_index("hour")["unit_hours"]
    # q7: C1 10:40 → 12:10 on Saturday 3 Feb: 1/3 h at 10, 1 h at 11, 1/6 h at 12.
    assert sat[10] == pytest.approx(1 / 3)
    assert sat[11] == pytest.approx(1.0)
    assert sat[12] == pytest.approx(1 / 6)
    # Data span 3 Feb (Sat) … 6 Feb (Tue) for CSO slots: one Saturday → mean = hours.
    assert h.set_index(["weekday", "hour"]).loc[(6, 11), "mean_units_committed"] == pytest.approx(1.0)
    total = workload.workload_heatmap(backend, ALL).frame["unit_hours"].sum()
    assert total == pytest.approx(10.25 + 1 / 3 + 3.0)  # spreading keeps every hour


def test_heatmap_rejects_unknown_unit_type(backend) -> None:
    with pytest.raises(OptionError):
        workload.workload_heatmap(backend, ALL, "k9")


def test_units_per_call_backup_rate_zero_on_scene(backend) -> None:
    s = workload.call_unit_stats(backend, ALL)
    # 12 calls; 11 with a unit (q5 has none); 16 units → 16/11 per call.
    assert s.calls == 12 and s.dispatched_calls == 11
    assert s.units_per_call == pytest.approx(16 / 11)
    # Two or more units: p2, p5, q2, q4 → 4/11.
    assert s.backup_rate == pytest.approx(4 / 11)
    # 15 timed assignments; q7's CSO never arrived → 1/15.
    assert s.timed_assignments == 15 and s.zero_on_scene_assignments == 1
    assert s.zero_on_scene_share == pytest.approx(1 / 15)
    p1 = s.by_priority.set_index("priority").loc[1]
    assert p1["units_per_call"] == pytest.approx(2.5)  # p5 3 units, q4 2 units


def test_utilization_with_known_staffing(con, backend) -> None:
    assert not workload.has_staffing(backend)
    assert workload.utilization_by_hour(backend, ALL).frame.empty
    con.execute(
        "INSERT INTO staffing VALUES (DATE '2024-01-14', 20, 'D1', 'sworn', 4.0), "
        "(DATE '2024-01-11', 10, 'D1', 'sworn', 10.0)"
    )
    assert workload.has_staffing(backend)
    u = workload.utilization_by_hour(backend, ALL)
    f = u.frame.set_index("hour")
    # 14 Jan 20:00 D1: p5's three sworn units for the whole hour = 3 of 4 on-duty hours.
    assert f.loc[20, "utilization"] == pytest.approx(0.75)
    assert bool(f.loc[20, "above_rule_of_60"]) is True
    # 11 Jan 10:00 D1: p2's S2 and S3 each 1 h = 2 of 10.
    assert f.loc[10, "utilization"] == pytest.approx(0.2)
    assert bool(f.loc[10, "above_rule_of_60"]) is False
    # Other sworn time (10.25 + 1/3 − 5 h in 8 hour-cells) has no staffing: excluded, counted.
    ex = u.exclusions.iloc[0]
    assert ex["cells"] == 8
    assert ex["unit_hours"] == pytest.approx(5.25 + 1 / 3)


def test_utilization_caveat_for_beat_filter(con, backend) -> None:
    _staff_everything(con)
    u = workload.utilization_by_hour(backend, Filters(beats=("D1-B01",)))
    assert any("beat" in c for c in u.caveats)


def test_patrol_time_before_after(con, backend) -> None:
    _staff_everything(con)
    pt = workload.patrol_time(backend, ALL)
    ba = pt.before_after.set_index(["district", "period"])
    d1b, d1a = ba.loc[("D1", "before")], ba.loc[("D1", "after")]
    assert bool(d1b["treated"]) and d1b["split_date"] == dt.date(2024, 2, 1)
    # January: 31 days × 24 h × 2 = 1488 on-duty; committed p1 1 + p2 3 + p4 0.5 + p5 3.
    assert d1b["sworn_on_duty_hours"] == pytest.approx(1488.0)
    assert d1b["sworn_committed_hours"] == pytest.approx(7.5)
    assert d1b["uncommitted_sworn_hours"] == pytest.approx(1480.5)
    assert d1b["self_initiated_per_100_on_duty_h"] == 0
    # February (29 days): 1392 on-duty; q2 0.25 + q4 0.5 + q6 1/3; one self-initiated (q6).
    assert d1a["sworn_on_duty_hours"] == pytest.approx(1392.0)
    assert d1a["sworn_committed_hours"] == pytest.approx(0.75 + 1 / 3)
    assert d1a["self_initiated_per_100_on_duty_h"] == pytest.approx(100 / 1392)
    # D2 never treated: split at the programme start as a comparison.
    assert not bool(ba.loc[("D2", "before"), "treated"])
    assert ba.loc[("D2", "before"), "sworn_committed_hours"] == pytest.approx(1.0)
    assert any("Never-treated" in c for c in pt.caveats)
    m = pt.monthly.set_index(["month", "district"])
    assert m.loc[(dt.date(2024, 2, 1), "D1"), "self_initiated_calls"] == 1


def test_treatment_resolution(backend) -> None:
    bt = treatment.beat_treatment(backend).set_index("beat")
    assert bt.loc["D1-B01", "start_date"] == dt.date(2024, 2, 1)
    assert bt.loc["D2-B01", "start_date"] is None
    assert treatment.programme_start(backend) == dt.date(2024, 2, 1)


def test_district_deployment_treats_every_beat(con, backend) -> None:
    con.execute("INSERT INTO deployments VALUES ('D2', DATE '2024-01-20', NULL, 2, 'district')")
    bt = treatment.beat_treatment(backend).set_index("beat")
    assert bt.loc["D2-B01", "start_date"] == dt.date(2024, 1, 20)
    assert treatment.programme_start(backend) == dt.date(2024, 1, 20)


def test_empty_selection_gives_empty_frames(backend) -> None:
    none = Filters(districts=("D9",))
    assert workload.workload_by_unit_type(backend, none).frame.empty
    assert workload.workload_heatmap(backend, none).frame.empty
    s = workload.call_unit_stats(backend, none)
    assert s.calls == 0 and s.units_per_call is None and s.zero_on_scene_share is None


def test_same_numbers_without_the_derived_tables(con, backend) -> None:
    _staff_everything(con)
    with_derived = (workload.workload_by_unit_type(backend, ALL).frame,
                    workload.workload_heatmap(backend, ALL).frame,
                    workload.utilization_by_hour(backend, ALL).frame)
    for t in facts.WORKLOAD_AGGREGATES:
        con.execute(f"DROP TABLE {t}")  # names from fixed tuples
    without = (workload.workload_by_unit_type(backend, ALL).frame,
               workload.workload_heatmap(backend, ALL).frame,
               workload.utilization_by_hour(backend, ALL).frame)
    for a, b in zip(with_derived, without, strict=True):
        num = a.select_dtypes("number").columns
        assert a[num].to_numpy() == pytest.approx(b[num].to_numpy())


def test_workload_summary_monthly_by_hand(backend):
    # Kept assignments by month of the call (tests/tiny_city.py):
    # January, all sworn: p1 1 h + p2 2 h + 1 h + p3 1 h + p4 0.5 h + p5 3 × 1 h = 8.5 h.
    # February sworn: q2 S1 0.25 h + q3 1 h + q4 S1 0.5 h + q6 20 min = 2 h 5 min;
    # CSO: q1 0.5 h + q2 1 h + q7 1.5 h = 3 h. (q4 S3 never cleared: excluded.)
    s = workload.workload_summary(backend, ALL)
    got = {(str(m)[:7], u): h for m, u, h in s.monthly.frame[["month", "unit_type", "unit_hours"]]
           .itertuples(index=False)}
    assert got == pytest.approx({("2024-01", "sworn"): 8.5, ("2024-02", "sworn"): 2 + 5 / 60,
                                 ("2024-02", "cso"): 3.0})
    # The one scan gives the same totals three ways.
    assert s.by_unit_type.frame["unit_hours"].sum() == pytest.approx(8.5 + 2 + 5 / 60 + 3.0)
    assert s.by_district.frame["unit_hours"].sum() == pytest.approx(8.5 + 2 + 5 / 60 + 3.0)


# -- the small daily aggregates (analytics.facts.build_workload_aggregates) ---------------
_AGG_FILTERS = [
    Filters(),
    Filters(districts=("D1",)),
    Filters(start=dt.date(2023, 6, 15), end=dt.date(2024, 2, 10)),
    Filters(start=dt.date(2025, 3, 1)),
    Filters(beats=("D1-B01", "D3-B02"), priorities=(1, 2)),
    Filters(categories=("property", "disorder")),
    Filters(districts=("D2",), end=dt.date(2024, 12, 31), exclude_sensitive=True),
]


def _frames(backend, f):
    s = workload.workload_summary(backend, f)
    u = workload.call_unit_stats(backend, f)
    p = workload.patrol_time(backend, f)
    return {"by_type": s.by_unit_type.frame, "excl": s.by_unit_type.exclusions,
            "by_district": s.by_district.frame, "monthly": s.monthly.frame,
            "by_priority": u.by_priority,
            "unit_stats": pd.DataFrame([{k: getattr(u, k) for k in (
                "calls", "dispatched_calls", "units_per_call", "backup_rate",
                "timed_assignments", "zero_on_scene_assignments", "zero_on_scene_share")}]),
            "util_sworn": workload.utilization_by_hour(backend, f, "sworn").frame,
            "util_cso": workload.utilization_by_hour(backend, f, "cso").frame,
            "util_excl": workload.utilization_by_hour(backend, f, "sworn").exclusions,
            "patrol_monthly": p.monthly, "patrol_ba": p.before_after,
            **{f"heatmap_{u}": workload.workload_heatmap(backend, f, u).frame
               for u in (None, "sworn", "cso")}}


def _same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    assert list(a.columns) == list(b.columns), what
    assert len(a) == len(b), what
    for c in a.columns:
        if pd.api.types.is_float_dtype(a[c]) or pd.api.types.is_float_dtype(b[c]):
            assert a[c].to_numpy(dtype=float) == pytest.approx(
                b[c].to_numpy(dtype=float), rel=1e-12, abs=1e-9, nan_ok=True), (what, c)
        else:
            assert a[c].tolist() == b[c].tolist(), (what, c)
            assert a[c].dtype == b[c].dtype, (what, c)


@pytest.mark.parametrize("f", _AGG_FILTERS, ids=lambda f: f.describe())
def test_daily_aggregates_give_the_per_assignment_numbers(demo_con, f, monkeypatch) -> None:
    """On the demo city, every Workload-tab table from the aggregates equals the same
    table computed from every assignment and clock-hour slot (the aggregates hidden)."""
    backend = db.ibis_backend(demo_con)
    assert all(engines.has_table(backend, t) for t in facts.WORKLOAD_AGGREGATES)
    fast = _frames(backend, f)
    monkeypatch.setattr(workload, "_has_aggregate", lambda *a, **k: False)
    slow = _frames(backend, f)
    for k in fast:
        _same(fast[k], slow[k], k)


def test_daily_aggregate_totals_match_the_base_tables(demo_con) -> None:
    """Independent of the metric code: the aggregates' totals are the base tables' ones."""
    q = lambda sql: demo_con.execute(sql).fetchall()[0]  # noqa: E731
    # Every assignment with a call, its committed time straight from the canonical table.
    start = "coalesce(a.dispatched_at, a.enroute_at)"
    n, timed, hours = q(f"SELECT count(*), count(*) FILTER (WHERE a.cleared_at >= {start}), "
                        f"sum(epoch(a.cleared_at - {start})) FILTER (WHERE a.cleared_at >= "
                        f"{start}) / 3600 FROM assignments a JOIN calls c USING (call_id)")
    a_n, a_timed, a_hours = q("SELECT sum(assignments), sum(timed_assignments), "
                              "sum(unit_hours) FROM assignment_day_facts")
    assert (a_n, a_timed) == (n, timed) and a_hours == pytest.approx(hours, rel=1e-9)
    # Spread over clock hours the total stays the same, whatever the grouping.
    slots = q("SELECT sum(unit_hours), count(DISTINCT (date, hour, district, unit_type)), "
              "min(date), max(date) FROM slot_hour_facts")
    assert slots[0] == pytest.approx(hours, rel=1e-9)
    cells = q("SELECT sum(unit_hours), count(*) FROM slot_cell_facts")
    assert cells[1] == slots[1] and cells[0] == pytest.approx(hours, rel=1e-9)
    by_day = q("SELECT sum(unit_hours), min(lo), max(hi) FROM slot_day_facts")
    assert by_day[0] == pytest.approx(hours, rel=1e-9) and by_day[1:] == slots[2:]
    calls = q("SELECT count(*), count(*) FILTER (WHERE n_units > 0), sum(n_units), "
              "count(*) FILTER (WHERE n_units >= 2) FROM call_facts")
    calls = (*calls, q("SELECT count(*) FROM call_facts WHERE self_initiated "
                       "AND n_sworn_units > 0")[0])
    day = q("SELECT sum(calls), sum(dispatched_calls), sum(units), sum(multi_unit_calls), "
            "sum(sworn_self_initiated_calls) FROM area_day_facts")
    assert tuple(int(v) for v in day) == tuple(int(v) for v in calls)


def test_an_older_database_reads_the_assignments_and_upgrade_builds_the_aggregates(
        demo_db_path, tmp_path, capsys) -> None:
    import shutil

    from analytics import cli

    path = tmp_path / "older.duckdb"
    shutil.copyfile(demo_db_path, path)
    con = db.connect(path)
    want = _frames(db.ibis_backend(con), Filters(districts=("D2",)))
    for t in facts.WORKLOAD_AGGREGATES:  # as a database made before they existed
        con.execute(f"DROP TABLE {t}")  # names from a fixed tuple
    for c in facts.AREA_DAY_UNIT_COLUMNS:
        con.execute(f"ALTER TABLE area_day_facts DROP COLUMN {c}")  # fixed names
    for t in facts.RETIRED_TABLES:  # the per-row tables earlier versions stored
        con.execute(f"CREATE TABLE {t} AS SELECT call_id FROM calls")  # names from a fixed tuple
    con.close()
    ro = db.connect(path, read_only=True)
    b = db.ibis_backend(ro)
    assert not workload._has_aggregate(b, facts.ASSIGNMENT_DAY_TABLE)
    assert not workload._has_aggregate(b, facts.AREA_DAY_TABLE, facts.AREA_DAY_UNIT_COLUMNS)
    older = _frames(b, Filters(districts=("D2",)))
    ro.close()
    assert cli.main(["upgrade", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "slot_hour_facts" in out and "no longer uses: assignment_facts, assignment_slots" in out
    ro = db.connect(path, read_only=True)
    b = db.ibis_backend(ro)
    assert all(workload._has_aggregate(b, t) for t in facts.WORKLOAD_AGGREGATES)
    assert not any(engines.has_table(b, t) for t in facts.RETIRED_TABLES)
    assert workload._has_aggregate(b, facts.AREA_DAY_TABLE, facts.AREA_DAY_UNIT_COLUMNS)
    upgraded = _frames(b, Filters(districts=("D2",)))
    ro.close()
    for k in want:
        _same(older[k], want[k], k)
        _same(upgraded[k], want[k], k)
