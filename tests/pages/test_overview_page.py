"""Overview page: KPI cards with numbers; filters read from and written to the URL."""

from __future__ import annotations

import re

from tests.pages.conftest import assert_clean, shown


def as_list(v) -> list[str]:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def test_kpi_cards_show_numbers(run_page) -> None:
    at = run_page()
    assert_clean(at)
    labels = [shown(m.label) for m in at.metric]  # as read: Markdown escapes resolved
    # The chief's first screen: the demo city's two targets lead, then the counts.
    assert labels == ["CSO-handled share of eligible calls", "P1 median response",
                      "Calls for service", "Crime incidents"]
    targets = [shown(c.value) for c in at.caption if shown(c.value).startswith("Target ")]
    assert len(targets) == 2 and all("gap" in t for t in targets), targets
    # The period is named with exact dates, and the whole span has no year-earlier data.
    assert re.match(r"Period \d{1,2} \w{3} \d{4} – \d{1,2} \w{3} \d{4} ", at.caption[0].value)
    assert "all data" in at.caption[0].value
    assert any("No comparison with a year earlier" in i.value for i in at.info)
    for m in at.metric:
        assert re.search(r"\d", m.value), f"{m.label} shows {m.value!r}"
    calls = int(at.metric[2].value.replace(",", ""))
    assert calls > 1000


def test_filters_come_from_the_url(run_page) -> None:
    at = run_page(query={"district": "D1", "priority": ["1", "2"]})
    assert_clean(at)
    assert at.multiselect(key="flt_districts").value == ["D1"]
    assert at.multiselect(key="flt_priorities").value == [1, 2]
    assert "district D1" in at.caption[0].value


def test_filter_change_goes_to_the_url_and_persists_across_pages(run_page) -> None:
    at = run_page(query={"district": "D1"})
    at.multiselect(key="flt_districts").set_value(["D2"]).run()
    assert_clean(at)
    assert as_list(at.query_params["district"]) == ["D2"]
    assert "category" not in at.query_params
    at.switch_page("app_pages/crime_trends.py").run()
    assert_clean(at)
    assert at.multiselect(key="flt_districts").value == ["D2"]
    assert as_list(at.query_params["district"]) == ["D2"]


def test_a_year_period_is_compared_with_the_year_before(run_page) -> None:
    at = run_page(query={"start": "2025-01-01", "end": "2025-12-31"})
    assert_clean(at)
    caption = at.caption[0].value
    assert "1 Jan 2025 – 31 Dec 2025" in caption and "1 Jan 2024" in caption
    assert not any("No comparison" in i.value for i in at.info)
    deltas = {m.label: m.delta for m in at.metric}
    assert all(deltas.values()), deltas  # every card shows its change against 2024
