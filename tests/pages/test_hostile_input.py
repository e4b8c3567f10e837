"""Pages survive what a link or the data can throw at them (issue 17).

- a call dated 9999-12-31 in the database (one written before the import had date bounds,
  or by another tool) once made the Overview fail for every visitor with OverflowError;
- ``?priority=²`` once raised ValueError with a traceback showing server paths.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import db, facts
from tests import tiny_city
from tests.pages.conftest import assert_clean

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def extreme_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("extreme") / "cso.duckdb"
    con = db.connect(path)
    tiny_city.build(con)
    con.execute("INSERT INTO calls (call_id, received_at, priority, call_type, district, beat) "
                "VALUES ('Z9', TIMESTAMP '9999-12-31 10:00:00', 1, 'NOISE', 'D1', 'D1-B01'), "
                "('Z0', TIMESTAMP '0001-01-01 00:00:00', 1, 'NOISE', 'D1', 'D1-B01')")
    facts.refresh_derived(con)
    con.close()
    return path


def _run(path: Path, monkeypatch, page: str | None = None, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("CSO_DB", str(path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


@pytest.mark.parametrize("page", [None, "app_pages/response_times.py", "app_pages/workload.py",
                                  "app_pages/crime_trends.py", "app_pages/call_types.py"])
def test_pages_with_calls_at_the_calendar_limits(extreme_db, monkeypatch, page) -> None:
    assert_clean(_run(extreme_db, monkeypatch, page))


def test_priority_superscript_in_the_link_is_dropped_with_a_notice(extreme_db, monkeypatch):
    at = _run(extreme_db, monkeypatch, query={"priority": ["²", "1"], "district": "NOWHERE"})
    assert_clean(at)
    notice = " ".join(w.value for w in at.sidebar.warning)
    assert "priority=²" in notice and "district=NOWHERE" in notice
    assert at.sidebar.multiselect(key="flt_priorities").value == [1]
