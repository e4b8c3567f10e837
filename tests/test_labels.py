"""On-screen labels and formats (analytics.labels) and chart takeaways (analytics.takeaways),
checked against hand-written expectations."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics import labels, takeaways


def test_humanize_by_rule() -> None:
    assert labels.humanize("median_total_min") == "Median total (min)"
    assert labels.humanize("cso_hours") == "CSO hours"
    assert labels.humanize("p90_travel_min") == "P90 travel (min)"
    assert labels.humanize("rate_per_100k") == "Rate per 100,000"


def test_explicit_labels_win_and_carry_units() -> None:
    assert labels.label("handled_calls") == "CSO-handled calls"
    assert labels.label("untapped_sworn_hours_per_week") == "Untapped sworn hours per week (h)"
    assert labels.label("cost_per_call") == "Cost per call ($)"
    for name in labels.LABELS:
        assert not labels.is_snake_case(labels.label(name)), name


def test_kinds() -> None:
    assert labels.kind("handled_share") == "share"
    assert labels.kind("cso_share_pct") == "percent"
    assert labels.kind("p1_median_min") == "minutes"
    assert labels.kind("untapped_sworn_hours") == "hours"
    assert labels.kind("cost_per_call") == "money"
    assert labels.kind("crimes_poisson_z") == "z"
    assert labels.kind("flag", pd.Series([True, False])) == "bool"


def test_display_frame_formats_for_the_screen() -> None:
    df = pd.DataFrame({"district": ["D1", "D2"], "handled_share": [0.0267, 0.5],
                       "above_rule_of_60": [True, False], "unit_type": ["cso", "sworn"],
                       "cso_tier": ["cso_only", "sworn_only"], "unit_hours": [1.26, 40074.44],
                       "cost_per_call": [40074384.4542, 12.5]})
    out, kinds = labels.display_frame(df)
    assert list(out["handled_share"]) == [2.7, 50.0]          # percent, one decimal
    assert list(out["above_rule_of_60"]) == ["Yes", "No"]     # words, not True/False
    assert list(out["unit_type"]) == ["CSO", "Sworn"]
    assert list(out["cso_tier"]) == ["CSO only", "Sworn only"]
    assert list(out["unit_hours"]) == [1.3, 40074.4]
    assert list(out["cost_per_call"]) == [40074384.0, 12.0]   # whole dollars (round half even)
    assert kinds["cost_per_call"] == "money" and kinds["handled_share"] == "share"
    assert list(df["handled_share"]) == [0.0267, 0.5]        # the input is never changed
    kept, _ = labels.display_frame(df, keep=["handled_share"])
    assert list(kept["handled_share"]) == [0.0267, 0.5]


def test_wide_and_relabel() -> None:
    df = pd.DataFrame({"month": [1], "handled_calls": [3], "untapped_calls": [4]})
    wide, names = labels.wide(df, ["handled_calls", "untapped_calls"])
    assert names == ["CSO-handled calls", "Untapped eligible calls (sworn only)"]
    assert list(wide.columns) == ["month", *names]
    acts = labels.relabel_values(pd.DataFrame({"activity_type": ["foot_patrol", None]}))
    assert acts["activity_type"].iloc[0] == "Foot patrol"


def test_snake_case_detector() -> None:
    assert labels.is_snake_case("handled_calls")
    assert labels.is_snake_case("Legend: untapped_sworn_hours_per_week")
    assert not labels.is_snake_case("CSO-handled calls (h)")
    assert not labels.is_snake_case("THEFT_REPORT")  # an upper-case call-type code is data


def test_takeaway_trend_by_hand() -> None:
    df = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
                       "handled_share": [0.10, 0.30, 0.20]})
    text = takeaways.trend(df, "month", "handled_share")
    assert text == ("CSO-handled share of eligible calls: 10.0 % in Jan 2025, 20.0 % in "
                    "Mar 2025; highest 30.0 % in Feb 2025.")


def test_takeaway_ranking_by_hand() -> None:
    df = pd.DataFrame({"unit_type": ["sworn", "cso", "sworn"], "unit_hours": [100.0, 30.0, 50.0]})
    text = takeaways.ranking(df, "unit_type", "unit_hours", what="Unit-hours")
    # sworn 100 + 50 = 150, CSO 30, total 180
    assert text == "Unit-hours: largest Sworn (150 h), smallest CSO (30.0 h); total 180 h."
    assert takeaways.ranking(df.iloc[:0], "unit_type", "unit_hours").startswith("No values")


@pytest.mark.parametrize(("value", "kind", "text"), [
    (0.0267, "share", "2.7 %"), (40074384.4542, "money", "$40,074,384"),
    (18884.2, "hours", "18,884 h"), (6.04, "minutes", "6.0 min"), (-2.5, "z", "-2.50"),
    (None, "count", "—"),
])
def test_fmt_value(value, kind, text) -> None:
    assert takeaways.fmt_value(value, kind) == text
