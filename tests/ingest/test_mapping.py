"""The mapping assistant suggests sensible columns for real vendor headers."""

from __future__ import annotations

from analytics.ingest import (
    guess_time_formats,
    load_preset,
    mapping_to_preset,
    parse_preset,
    preview,
    read_sample,
    suggest_mapping,
)
from tests.ingest.conftest import shared_file


def _best(con, rel, table="calls"):
    headers, sample = read_sample(con, shared_file(rel), load_preset("canonical", table))
    return {r.canonical: r.source for r in suggest_mapping(table, headers, sample)}


def test_seattle_headers(con):
    m = _best(con, "seattle_spd_call_data/spd_call_data_east_charlie_sample.csv")
    assert m["call_id"] == "CAD Event Number"
    assert m["received_at"] == "Original Time Queued"
    assert m["arrived_at"] == "Arrived Time"
    assert m["call_type"] == "Final Call Type"
    assert m["call_type_initial"] == "Initial Call Type"
    assert m["priority"] == "Priority"
    assert m["lat"] == "Blurred_Latitude" and m["lon"] == "Blurred_Longitude"
    assert m["beat"] == "Beat"


def test_detroit_and_dallas_headers(con):
    m = _best(con, "detroit_911/detroit_911_calls_sample.csv")
    assert m["call_id"] == "incident_id"
    assert m["received_at"] == "call_timestamp"
    assert m["unit_id"] == "respondingunit"
    assert m["lat"] == "latitude" and m["lon"] == "longitude"
    m = _best(con, "dallas_active_calls/dallas_active_calls_2018-01-09.csv")
    assert m["call_id"] == "incident_number"
    assert m["received_at"] == "date_time"
    assert m["call_type"] == "nature_of_call"
    assert m["unit_id"] == "unit_number"
    assert m["district"] == "division"


def test_time_format_guess():
    assert guess_time_formats(["11/04/2023 6:08:26 PM", "06/04/2023 4:18:15 PM"])[0] == \
        "%m/%d/%Y %I:%M:%S %p"
    assert guess_time_formats(["2016-09-20 23:57:28"])[0] == "%Y-%m-%d %H:%M:%S"


def test_suggested_mapping_previews_as_canonical(con):
    path = shared_file("seattle_spd_call_data/spd_call_data_east_charlie_sample.csv")
    data = mapping_to_preset("calls", {"call_id": "CAD Event Number",
                                       "received_at": "Original Time Queued",
                                       "priority": "Priority"},
                             time_formats=["%m/%d/%Y %I:%M:%S %p"],
                             officer_initiated_column="Call Type",
                             officer_initiated_values=["ONVIEW"])
    df = preview(con, path, parse_preset(data), n=2)
    assert list(df["call_id"]) == ["2023000319821", "2023000154966"]
    assert list(df["self_initiated"]) == [False, True]
    assert str(df["received_at"].iloc[0]) == "2023-11-04 18:08:26"
    # A preview leaves nothing behind.
    assert con.execute("SELECT count(*) FROM calls").fetchall() == [(0,)]
