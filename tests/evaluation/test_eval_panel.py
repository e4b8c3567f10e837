"""panel_from_metric on the tiny hand-built city (tests/tiny_city.py) plus a few incidents,
activities and staffing rows added here; every expected number is counted by hand."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from analytics.errors import OptionError
from analytics.evaluation import panel_from_metric
from analytics.evaluation.panel import response_minutes
from analytics.filters import Filters
from tests import tiny_city

JAN, FEB = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")


@pytest.fixture()
def con():
    c = tiny_city.connect()
    c.executemany(
        "INSERT INTO incidents (incident_id, occurred_at, offense, offense_category, district, beat)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [("i1", dt.datetime(2024, 1, 5), "PETTY THEFT", "property", "D1", "D1-B01"),
         ("i2", dt.datetime(2024, 2, 5), "VANDALISM", "property", "D1", "D1-B01"),
         ("i3", dt.datetime(2024, 2, 6), "ROBBERY", "violent", "D1", "D1-B02"),
         ("i4", dt.datetime(2024, 2, 7), "Petty Theft", "property", "D2", "D2-B01"),
         ("i5", dt.datetime(2024, 2, 8), "BURGLARY", "property", "D2", "D2-B01")])
    c.executemany(
        "INSERT INTO activities (activity_id, unit_id, activity_type, started_at, ended_at,"
        " district, beat) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [("a1", "C1", "foot_patrol", dt.datetime(2024, 2, 2, 9), dt.datetime(2024, 2, 2, 11), "D1", "D1-B01"),
         ("a2", "C1", "report_writing", dt.datetime(2024, 2, 2, 12), dt.datetime(2024, 2, 2, 13), "D1", "D1-B01"),
         ("a3", "S1", "foot_patrol", dt.datetime(2024, 2, 2, 9), dt.datetime(2024, 2, 2, 10), "D1", "D1-B01")])
    c.executemany(
        "INSERT INTO staffing VALUES (?, ?, ?, ?, ?)",
        [(dt.date(2024, 1, 10), 10, "D1", "sworn", 100.0), (dt.date(2024, 2, 10), 10, "D1", "sworn", 50.0),
         (dt.date(2024, 2, 10), 10, "D1", "cso", 80.0), (dt.date(2024, 1, 10), 10, "D2", "sworn", 10.0),
         (dt.date(2024, 2, 10), 10, "D2", "sworn", 10.0)])
    yield c
    c.close()


def cell(panel, area, period, col="value"):
    return panel.set_index(["area", "period"]).loc[(area, period), col]


def test_public_call_counts_and_treatment_timing(con):
    p = panel_from_metric(con, "calls")
    assert len(p) == 3 * 2  # 3 beats x Jan, Feb (zeros kept)
    # D1-B01: Jan p1, p4; Feb q1, q2, q4, q7 (q6 is officer-initiated)
    assert cell(p, "D1-B01", JAN) == 2 and cell(p, "D1-B01", FEB) == 4
    assert cell(p, "D1-B02", JAN) == 2 and cell(p, "D1-B02", FEB) == 1
    assert cell(p, "D2-B01", JAN) == 1 and cell(p, "D2-B01", FEB) == 1
    assert cell(p, "D1-B01", JAN, "first_treated") == FEB
    assert pd.isna(cell(p, "D1-B02", JAN, "first_treated"))
    assert p.loc[p.post, "area"].tolist() == ["D1-B01"]
    assert p.attrs["unit"] == "calls"


def test_district_level_inherits_first_beat_start(con):
    p = panel_from_metric(con, "calls", level="district")
    assert cell(p, "D1", JAN) == 4 and cell(p, "D1", FEB) == 5
    assert cell(p, "D1", FEB, "first_treated") == FEB
    assert pd.isna(cell(p, "D2", FEB, "first_treated"))


def test_district_deployment_treats_its_beats(con):
    con.execute("INSERT INTO deployments VALUES ('D2', DATE '2024-01-15', NULL, 2, 'x')")
    p = panel_from_metric(con, "calls")
    assert cell(p, "D2-B01", JAN, "first_treated") == JAN  # month containing 15 January


def test_response_time_median_and_missing_cells(con):
    p = panel_from_metric(con, "p12_median_response_min")
    # p5 (P1, D1-B02, Jan): received 19:55, first arrival 20:05 -> 10 min
    # q4 (P1, D1-B01, Feb): received 14:55, first arrival 15:05 -> 10 min
    assert cell(p, "D1-B02", JAN) == pytest.approx(10.0)
    assert cell(p, "D1-B01", FEB) == pytest.approx(10.0)
    assert math.isnan(cell(p, "D1-B01", JAN))
    assert cell(p, "D1-B01", FEB, "n") == 1
    mins = response_minutes(con, ("D1-B01", "D1-B02"))
    assert sorted(mins["minutes"].round(6)) == [10.0, 10.0]


def test_cso_share_hours_and_officer_initiated(con):
    share = panel_from_metric(con, "cso_handled_share")
    # eligible public dispatched: Jan B01 p1, p4 (sworn) -> 0 %; Feb B01 q1, q2, q7 (CSO) -> 100 %
    assert cell(share, "D1-B01", JAN) == 0 and cell(share, "D1-B01", FEB) == 100
    sworn = panel_from_metric(con, "sworn_unit_hours")
    assert cell(sworn, "D1-B01", JAN) == pytest.approx(1.5)  # p1 1 h + p4 0.5 h
    assert cell(sworn, "D1-B02", JAN) == pytest.approx(6.0)  # p2 3 h + p5 3 h
    # Feb B01: q2 S1 0.25 h + q4 S1 0.5 h (S3 never cleared) + q6 S1 20 min
    assert cell(sworn, "D1-B01", FEB) == pytest.approx(0.25 + 0.5 + 1 / 3)
    oi = panel_from_metric(con, "officer_initiated_calls")
    assert cell(oi, "D1-B01", FEB) == 1 and oi["value"].sum() == 1
    rate = panel_from_metric(con, "officer_initiated_per_100_sworn_h", level="district")
    assert cell(rate, "D1", FEB) == pytest.approx(100 * 1 / 50)  # CSO staffing not counted
    assert cell(rate, "D1", JAN) == 0 and cell(rate, "D2", FEB) == 0
    with pytest.raises(OptionError):
        panel_from_metric(con, "officer_initiated_per_100_sworn_h", level="beat")


def test_incident_metrics_and_dose(con):
    low = panel_from_metric(con, "low_level_property")
    assert cell(low, "D1-B01", JAN) == 1 and cell(low, "D1-B01", FEB) == 1
    assert cell(low, "D2-B01", FEB) == 1  # 'Petty Theft' matches case-insensitively
    assert low["value"].sum() == 3  # BURGLARY and ROBBERY are not low-level
    vio = panel_from_metric(con, "violent_crime")
    assert vio["value"].sum() == 1 and cell(vio, "D1-B02", FEB) == 1
    allprop = panel_from_metric(con, "incidents", offense_categories=("property",))
    assert allprop["value"].sum() == 4
    dose = panel_from_metric(con, "cso_patrol_hours")
    assert cell(dose, "D1-B01", FEB) == pytest.approx(2.0)  # report writing, sworn patrol excluded
    assert dose["value"].sum() == pytest.approx(2.0)


def test_filters_dates_and_weeks(con):
    p = panel_from_metric(con, "calls", filters=Filters(start=dt.date(2024, 2, 1)))
    assert set(p["period"]) == {FEB}
    w = panel_from_metric(con, "calls", freq="week")
    assert (w["period"].dt.weekday == 0).all()
    assert w["value"].sum() == 5 + 6  # all 11 public calls
    with pytest.raises(OptionError):
        panel_from_metric(con, "arrests")
