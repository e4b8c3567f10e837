"""Response times page on the demo city: renders, shows figures beside exclusions."""

from __future__ import annotations

from tests.pages.conftest import assert_clean

PAGE = "app_pages/response_times.py"


def test_renders_figures_exclusions_and_charts(run_page) -> None:
    at = run_page(PAGE)
    assert_clean(at)
    assert at.title[0].value == "⏱️ Response times"
    heads = [h.value for h in at.subheader]
    assert heads == ["Median and 90th percentile by priority", "Trend by month"]
    summary = at.dataframe[0].value
    # always by priority, exclusion counts next to the figures
    assert list(summary["Priority"])[:2] == ["P1", "P2"]
    for col in ("Excl. officer-initiated", "Excl. no arrival", "Excl. out-of-order",
                "Excl. above cap", "Calls kept", "Median total (min)", "P90 total (min)"):
        assert col in summary.columns
    kept = summary[summary["Calls kept"] > 0]
    assert (kept["Median total (min)"].astype(float) <= kept["P90 total (min)"].astype(float)).all()
    # a priority whose calls were all excluded shows a dash, never NaN/None
    assert not summary.isna().any().any()
    excl = at.dataframe[1].value
    assert list(excl["Step"])[-1] == "Kept for response-time figures"
    assert int(excl["Calls"].sum()) == int(summary["Calls (all)"].sum())
    # an expander with the definition and the SQL
    # (the figures come from the 5-second histograms, and the caption says so)
    assert any("response_hist" in c.value for c in at.code)
    assert any("second histograms" in c.value for c in at.caption)


def test_every_tab_renders(run_page) -> None:
    at = run_page(PAGE)
    for tab, head in [("CSO areas vs comparison", "CSO areas vs comparison areas"),
                      ("Sworn vs CSO responders", "Sworn vs CSO responders"),
                      ("Distribution", "Distribution of total time")]:
        at.session_state["rt_tab"] = tab  # the tabs track state: only the open one runs
        at.run()
        assert_clean(at)
        assert head in [h.value for h in at.subheader]
        assert len(at.dataframe) >= 3, tab
        assert [c.label for c in at.tabs] == ["Trend", "CSO areas vs comparison",
                                              "Sworn vs CSO responders", "Distribution"]
    groups = at.session_state["rt_tab"]
    assert groups == "Distribution"


def test_treated_tab_shows_both_sides(run_page) -> None:
    at = run_page(PAGE)
    at.session_state["rt_tab"] = "CSO areas vs comparison"
    at.run()
    table = at.dataframe[2].value
    assert {"CSO beats, before CSOs", "CSO beats, with CSOs",
            "Comparison beats (never CSOs)"} <= set(table["Areas"])
    assert "Calls kept" in table.columns


def test_cap_changes_the_exclusions(run_page) -> None:
    at = run_page(PAGE)
    before = int(at.dataframe[0].value["Excl. above cap"].sum())
    at.number_input(key="rt_cap").set_value(15.0).run()
    assert_clean(at)
    after = int(at.dataframe[0].value["Excl. above cap"].sum())
    assert after > before


def test_weekly_trend_and_segment(run_page) -> None:
    at = run_page(PAGE)
    at.radio(key="rt_grain").set_value("week").run()
    at.selectbox(key="rt_segment").set_value("sworn_total").run()
    assert_clean(at)
    assert "Trend by week" in [h.value for h in at.subheader]
    at.session_state["rt_tab"] = "Distribution"
    at.run()
    assert_clean(at)
    assert "Distribution of sworn total time" in [h.value for h in at.subheader]


def test_empty_filter_shows_message(run_page) -> None:
    # the demo has no priority-1 "proactive" calls
    at = run_page(PAGE, query={"category": "proactive", "priority": "1"})
    assert_clean(at)
    assert any("No public calls with a valid response time" in i.value for i in at.info)
    assert not at.dataframe


def test_tiny_database_without_deployments(run_page, tmp_path) -> None:
    """A database with a handful of calls, no deployments, no incidents: still no error."""
    from analytics import db, facts
    from tests.test_response_times import add_call

    path = tmp_path / "tiny.duckdb"
    con = db.connect(path)
    add_call(con, "a", priority=1, beat="B1", district="D1", dispatched=2, arrived=9)
    add_call(con, "b", priority=1, beat="B1", district="D1", dispatched=5, arrived=3)
    facts.refresh_derived(con)
    con.close()
    at = run_page(PAGE, db_path=path)
    assert_clean(at)
    summary = at.dataframe[0].value
    # b's arrival (3 min) is stamped before its dispatch (5 min): its travel is out of order,
    # its total (received → arrival, 3 min) is in order and kept (segments judged alone)
    assert list(summary["Calls kept"]) == [2] and list(summary["Excl. out-of-order"]) == [0]
    assert list(summary["Median total (min)"]) == ["6.0"]  # (9 + 3) / 2
    crime = run_page("app_pages/crime_trends.py", db_path=path)
    assert_clean(crime)
    # no incidents at all: the page names the missing data (not "widen the filters")
    assert any("no crime incidents" in w.value for w in crime.warning)


def test_obeys_district_filter(run_page) -> None:
    everywhere = run_page(PAGE).dataframe[0].value
    d1 = run_page(PAGE, query={"district": "D1"}).dataframe[0].value
    assert int(d1["Calls (all)"].sum()) < int(everywhere["Calls (all)"].sum())
