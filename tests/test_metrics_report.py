"""``python -m analytics metrics``: every family as JSON, checked on the tiny city by hand."""

from __future__ import annotations

import json

import pytest

from analytics import cli, db, metrics_report
from analytics import response_hist as rh
from analytics.errors import OptionError
from analytics.filters import Filters


def _metrics(tiny_db_file, tmp_path, *args) -> dict:
    out = tmp_path / "m.json"
    assert cli.main(["metrics", "--db", str(tiny_db_file), *args, "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_every_family_in_order_with_filters_and_period(tiny_db_file, tmp_path) -> None:
    m = _metrics(tiny_db_file, tmp_path)
    assert list(m) == ["format_version", "privacy_tier", "filters", "period",
                       *metrics_report.FAMILIES]
    assert m["privacy_tier"].startswith("Privacy tier: analyst")
    assert m["filters"] == {"from": None, "to": None, "districts": []}
    # tiny_city.py: first call p1 on 2024-01-10, last q6 on 2024-02-10
    assert m["period"] == {"start": "2024-01-10", "end": "2024-02-10",
                           "data_start": "2024-01-10", "data_end": "2024-02-10"}


def test_calls_response_and_workload_figures_by_hand(tiny_db_file, tmp_path) -> None:
    m = _metrics(tiny_db_file, tmp_path)
    c = m["calls"]
    # 12 calls; q6 is the only officer-initiated one
    assert (c["calls"], c["public_calls"], c["officer_initiated_calls"]) == (12, 11, 1)
    # P1: p5, q4; P3: p1 p2 p3 q1 q3 q5 q6 q7; P4: p4, q2
    assert [(r["priority"], r["calls"]) for r in c["by_priority"]] == [(1, 2), (3, 8), (4, 2)]
    assert [(r["district"], r["calls"]) for r in c["by_district"]] == [("D1", 10), ("D2", 2)]
    # P1 total response: p5 19:55 → 20:05, q4 14:55 → 15:05: both 10 min
    p1 = m["response_times"]["by_priority"][0]
    # (5-second histograms: within the documented 2.5 s)
    assert p1["priority"] == 1
    assert p1["median_total_min"] == pytest.approx(10.0, abs=rh.ERROR_BOUND_S / 60 + 1e-9)
    # committed hours: sworn p1 1 + p2 3 + p3 1 + p4 0.5 + p5 3 + q2 0.25 + q3 1 + q4 0.5
    # + q6 1/3; CSO q1 0.5 + q2 1 + q7 1.5 (q4's S3 never cleared: excluded, counted)
    by_type = {r["unit_type"]: r for r in m["workload"]["by_unit_type"]}
    assert by_type["sworn"]["unit_hours"] == pytest.approx(10.25 + 1 / 3)
    assert by_type["cso"]["unit_hours"] == pytest.approx(3.0)
    no_clear = {r["step"]: r["assignments"] for r in m["workload"]["assignment_exclusions"]}
    assert no_clear["no_clear"] == 1
    # numbers are JSON numbers, missing values null
    assert isinstance(c["calls"], int) and isinstance(by_type["cso"]["unit_hours"], float)
    assert m["crime_trends"]["anchor_date"] is None  # the tiny city has no incidents


def test_district_and_dates_filter_every_family(tiny_db_file, tmp_path) -> None:
    m = _metrics(tiny_db_file, tmp_path, "--district", "D2", "--from", "2024-02-01",
                 "--to", "2024-02-29")
    assert m["filters"] == {"from": "2024-02-01", "to": "2024-02-29", "districts": ["D2"]}
    assert m["period"]["start"] == "2024-02-01" and m["period"]["end"] == "2024-02-29"
    assert m["calls"]["calls"] == 1  # q3 only
    assert m["offload"]["public_calls"] == 1
    sworn = {r["unit_type"]: r["unit_hours"] for r in m["workload"]["by_unit_type"]}
    assert sworn == {"sworn": pytest.approx(1.0)}  # q3: S2 13:00 → 14:00


@pytest.mark.parametrize("argv", [
    ["metrics", "--engine", "spark", "--db", "x.duckdb", "--json", "o.json"],
    ["metrics", "--engine", "spark", "--json", "o.json"],
])
def test_spark_needs_a_parquet_export(argv, capsys) -> None:
    assert cli.main(argv) == 2
    assert "--parquet" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["metrics", "--from", "2024-13-01", "--json", "o.json"],
    ["metrics", "--engine", "oracle", "--json", "o.json"],
    ["metrics", "--db", "a.duckdb", "--parquet", "dir", "--json", "o.json"],
])
def test_bad_arguments_exit_2(argv) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2


def test_dates_in_the_wrong_order_exit_2(tiny_db_file, tmp_path, capsys) -> None:
    assert cli.main(["metrics", "--db", str(tiny_db_file), "--from", "2024-02-01", "--to",
                     "2024-01-01", "--json", str(tmp_path / "m.json")]) == 2
    assert "after end date" in capsys.readouterr().err


def test_report_takes_dates_and_districts_only(tiny_db_file) -> None:
    con = db.connect(tiny_db_file, read_only=True)
    try:
        with pytest.raises(OptionError, match="dates and districts"):
            metrics_report.metrics_report(db.ibis_backend(con), Filters(priorities=(1,)))
        with pytest.raises(OptionError, match="family"):
            metrics_report.metrics_report(db.ibis_backend(con), families=("maps",))
    finally:
        con.close()


def test_plain_data() -> None:
    import datetime as dt

    import numpy as np
    import pandas as pd

    assert metrics_report.plain({"a": np.int64(3), "b": np.float64("nan"), "c": pd.NaT,
                                 "d": pd.Timestamp("2024-01-01"), "e": dt.date(2024, 2, 3),
                                 "f": (np.bool_(True), None)}) == {
        "a": 3, "b": None, "c": None, "d": "2024-01-01", "e": "2024-02-03", "f": [True, None]}
