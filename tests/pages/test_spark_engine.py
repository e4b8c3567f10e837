"""The app served from Spark (``CSO_ENGINE=spark CSO_PARQUET=DIR``): pages render, read-only.

Slow (a Spark session and one Spark job per query); CI runs it (``make test-slow``). Without
Java it is skipped on a developer machine and fails under ``CSO_REQUIRE_SPARK=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import cli, engines
from tests.pages.conftest import ROOT, assert_clean

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark_export(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not engines.java_available():
        if os.environ.get("CSO_REQUIRE_SPARK") == "1":
            pytest.fail("CSO_REQUIRE_SPARK=1 but no Java on this machine")
        pytest.skip("no Java on this developer machine: the Spark-served app is not tested")
    import shutil

    copy = tmp_path_factory.mktemp("spark_app_db") / "demo.duckdb"
    shutil.copyfile(demo_db_path, copy)
    out = tmp_path_factory.mktemp("spark_app") / "export"
    assert cli.main(["export", "--parquet", str(out), "--db", str(copy)]) == 0
    return out


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
