"""A server started with CSO_TIER=public: read-only, nothing below the tier on any page,
and nothing a visitor sends (URL, session state) changes that."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import privacy
from analytics.filters import Filters
from tests.pages.conftest import assert_clean, shown

ROOT = Path(__file__).resolve().parents[2]
PAGES = [p for p in re.findall(r'"(app_pages/[a-z_]+\.py)"',
                               (ROOT / "dashboard.py").read_text(encoding="utf-8"))
         if p != "app_pages/data.py"]
K = privacy.DEFAULT_K
# Integer columns of page tables that count no one (dimensions, settings).
NOT_COUNTS = re.compile(r"(hour|weekday|priority|year|version|cso_count|population|month|"
                        r"week|level|rank|areas|polygon|n_units|n_periods|cso count|periods|cluster)",
                        re.IGNORECASE)


@pytest.fixture(scope="module")
def public_db(demo_db_path: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("public_db") / "demo.duckdb"
    shutil.copyfile(demo_db_path, path)
    return path


@pytest.fixture()
def run_public(public_db, monkeypatch):
    def run(page: str | None = None, query: dict | None = None, forged: dict | None = None,
            tier: str = "public") -> AppTest:
        monkeypatch.setenv("CSO_DB", str(public_db))
        monkeypatch.setenv("CSO_TIER", tier)
        monkeypatch.chdir(ROOT)
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
        for k, v in (query or {}).items():
            at.query_params[k] = v
        for k, v in (forged or {}).items():
            at.session_state[k] = v
        at.run()
        if page:
            at.switch_page(page)
            at.run()
        return at

    return run


def sensitive_types(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT call_type FROM call_types WHERE sensitive").fetchall()}


def small_counts(df: pd.DataFrame) -> list[tuple[str, float]]:
    bad = []
    for c in df.columns:
        s = df[c]
        if NOT_COUNTS.search(str(c)) or pd.api.types.is_bool_dtype(s):
            continue
        if not pd.api.types.is_integer_dtype(s):
            continue
        v = s.dropna()
        bad += [(str(c), float(x)) for x in v[(v >= 1) & (v < K)]]
    return bad


def stamps(at: AppTest) -> str:
    return " ".join(shown(c.value) for c in at.sidebar.caption)


@pytest.mark.parametrize("page", PAGES)
def test_public_page_hides_small_counts_and_writes_nothing(run_public, public_db, page) -> None:
    at = run_public(page)
    assert_clean(at)
    assert "Privacy tier: public" in stamps(at)
    # no way to write: no upload, no editable table, no save/import button
    assert not at.get("file_uploader"), page
    assert not at.get("data_editor") if hasattr(at, "get") else True
    assert not [b.label for b in at.button if re.search(r"save|import|upload", b.label, re.I)]
    secret = sensitive_types(public_db)
    for el in at.dataframe:
        df = el.value
        assert not small_counts(df), (page, small_counts(df)[:5], list(df.columns))
        for c in df.columns:
            if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
                assert not (set(df[c].dropna().astype(str)) & secret), (page, c)


def test_data_page_is_not_offered(run_public) -> None:
    at = run_public()
    assert_clean(at)
    # not in the navigation: AppTest cannot even switch to it
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/data.py")
    # and the page itself refuses, should a server register it
    page = AppTest.from_file(str(ROOT / "app_pages" / "data.py"), default_timeout=60)
    page.run()
    assert any("not available on this server" in e.value for e in page.error)
    assert not page.get("file_uploader")


def test_url_and_session_state_cannot_raise_the_tier(run_public) -> None:
    forged = {"flt_districts": ["D1"], "flt_priorities": [1],
              "cso_filters": Filters(districts=("D1",))}
    at = run_public("app_pages/overview.py", query={"tier": "analyst", "district": "D1"},
                    forged=forged)
    assert_clean(at)
    assert "Privacy tier: public" in stamps(at)
    shown = " ".join(c.value for c in at.sidebar.caption)
    assert "district D1" not in shown and "priority 1" not in shown
    # the sidebar offers no sub-group filters to a public visitor
    assert not at.sidebar.multiselect


def test_command_tier_hides_sensitive_types(run_public, public_db) -> None:
    at = run_public("app_pages/call_types.py", tier="command")
    assert_clean(at)
    assert "Privacy tier: command" in stamps(at)
    secret = sensitive_types(public_db)
    assert secret
    for el in at.dataframe:
        if "call_type" in el.value.columns:
            assert not set(el.value["call_type"]) & secret
    assert not at.get("file_uploader")


def test_public_overview_points_to_nothing_a_visitor_cannot_use(run_public) -> None:
    """A read-only server offers no import and no target form, so neither the demo notice
    nor the Overview sends its visitors to them."""
    at = run_public()
    assert_clean(at)
    notices = " ".join(i.value for i in at.info)
    assert "Demonstration data" in notices
    assert "Data** page" not in notices and "Data page" not in notices
    links = [e.proto.label for e in at.get("page_link")]
    assert "Set or change the targets" not in links
