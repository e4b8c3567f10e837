"""The app served from Spark (``CSO_ENGINE=spark CSO_PARQUET=DIR``): pages render, read-only.

Slow (a Spark session and one Spark job per query); CI runs it (``make test-slow``). Without
Java it is skipped on a developer machine and fails under ``CSO_REQUIRE_SPARK=1``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import ROOT, assert_clean

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark_export(engine_export: Path, spark_session: object) -> Path:
    """The engine city's export (tests/conftest.py), served by the one Spark session."""
    return engine_export


@pytest.mark.parametrize("page", [None, "app_pages/response_times.py"])
def test_page_renders_on_spark(page: str | None, spark_export: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSO_ENGINE", "spark")
    monkeypatch.setenv("CSO_PARQUET", str(spark_export))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=900)
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert_clean(at)
    assert at.metric or at.dataframe or at.table, "the page showed no figures"
    # read-only: the Data page (imports) is not registered on a Parquet snapshot
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("app_pages/data.py")
