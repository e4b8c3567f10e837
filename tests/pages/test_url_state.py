"""A shared URL opens the same view: the page's tab, the map layer and the evaluation
settings are bound to query parameters (``bind="query-params"``; the value is the label
the reader sees)."""

from __future__ import annotations

from tests.pages.conftest import assert_clean


def test_workload_tab_from_the_url(run_page) -> None:
    at = run_page("app_pages/workload.py", query={"wl_tab": "Offload"})
    assert_clean(at)
    labels = [m.label for m in at.metric]
    assert "Handled share" in labels           # the Offload tab ran
    assert "Committed unit-hours" not in labels  # the Workload tab did not


def test_response_times_tab_from_the_url(run_page) -> None:
    at = run_page("app_pages/response_times.py", query={"rt_tab": "Distribution"})
    assert_clean(at)
    subheaders = [s.value for s in at.subheader]
    assert any(s.startswith("Distribution of") for s in subheaders), subheaders
    assert not any(s.startswith("Trend by") for s in subheaders)


def test_map_layer_from_the_url(run_page) -> None:
    at = run_page("app_pages/maps.py", query={"maps_layer": "Deployment areas"})
    assert_clean(at)
    assert at.get("segmented_control")[0].value == "deployments"


def test_evaluation_settings_from_the_url(run_page) -> None:
    at = run_page("app_pages/evaluation.py",
                  query={"ev_metric": "Suspicious-activity calls", "ev_level": "District",
                         "ev_freq": "weekly", "ev_pre": "6"})
    assert_clean(at)
    assert at.selectbox(key="ev_metric").value == "suspicious_calls"
    assert at.radio(key="ev_level").value == "district"
    assert at.radio(key="ev_freq").value == "week"
    assert at.number_input(key="ev_pre").value == 6


def test_filters_and_a_bound_tab_share_the_url(run_page) -> None:
    at = run_page("app_pages/workload.py", query={"wl_tab": "Targets", "district": "D1"})
    assert_clean(at)
    assert at.multiselect(key="flt_districts").value == ["D1"]
    assert at.query_params["wl_tab"] in ("Targets", ["Targets"])  # not wiped by the sidebar
