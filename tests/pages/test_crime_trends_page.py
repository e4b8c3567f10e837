"""Crime trends page on the demo city: renders cards, tables, the STL decomposition."""

from __future__ import annotations

from analytics.labels import value_label
from tests.pages.conftest import assert_clean

PAGE = "app_pages/crime_trends.py"


def test_renders_cards_tables_and_decomposition(run_page) -> None:
    at = run_page(PAGE)
    assert_clean(at)
    assert at.title[0].value == "📈 Crime trends"
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Last 28 days (incidents)", "Last 365 days (incidents)"]
    assert any(lbl.startswith("Year to date") for lbl in labels)
    assert all("Poisson z" in c.value for c in at.caption if c.value.startswith("Poisson"))
    windows = at.dataframe[0].value
    assert {"Window", "Offense category", "Current", "Previous", "% change", "Poisson z",
            "Exact p", "BH q (this table)", "Flag (BH q < 0.0027)"} <= set(windows.columns)
    assert any("Benjamini–Hochberg" in c.value for c in at.caption)
    assert not windows.isna().any().any()
    assert "Incidents per month by offense category" in [h.value for h in at.subheader]
    # the tabs track state: only the open tab runs its queries
    at.session_state["ct_tab"] = "Seasonal decomposition"
    at.run()
    assert_clean(at)
    assert "Seasonal decomposition (STL)" in [h.value for h in at.subheader]
    assert any("Seasonal strength" in c.value for c in at.caption)
    at.selectbox(key="ct_stl_series").set_value(at.selectbox(key="ct_stl_series").options[1])
    at.run()
    assert_clean(at)


def test_offense_category_picker_and_series(run_page) -> None:
    at = run_page(PAGE)
    cats = at.multiselect(key="ct_categories").options
    assert len(cats) >= 2
    at.multiselect(key="ct_categories").set_value([cats[0]]).run()
    assert_clean(at)
    windows = at.dataframe[0].value
    # shown in words: "other" → "Other", "quality_of_life" → "Quality of life"
    assert set(windows["Offense category"]) == {"All", value_label(cats[0])}
    at.radio(key="ct_measure").set_value("Rate per 100k").run()
    assert_clean(at)


def test_call_filters_do_not_change_incidents(run_page) -> None:
    base = run_page(PAGE).dataframe[0].value
    prio = run_page(PAGE, query={"priority": "1"})
    assert_clean(prio)
    assert list(prio.dataframe[0].value["Current"]) == list(base["Current"])
    d1 = run_page(PAGE, query={"district": "D1"}).dataframe[0].value
    assert int(d1["Current"].iloc[0]) < int(base["Current"].iloc[0])
