"""`python -m ui.serve` warms the default view before the first visitor (ui/serve.py)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.browser.support import ROOT, error_boxes, free_port, need_browser, wait_for_app
from ui import navigation, serve

pytestmark = pytest.mark.browser


def _warm_line(log: Path, timeout_s: float = 180) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(serve.DONE_PREFIX):
                return line
        time.sleep(0.25)
    raise AssertionError(f"no warm-start line in {timeout_s:.0f} s: {log.read_text()[-2000:]}")


def test_the_warm_start_fills_the_cache_before_the_first_visitor(
        demo_db_path: Path, tmp_path: Path, page) -> None:
    need_browser()
    served = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_path, served)
    port, log = free_port(), tmp_path / "server.log"
    env = dict(os.environ, CSO_DB=str(served))
    env.pop("CSO_WARM_START", None)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.serve", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats",
             "false"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        line = _warm_line(log)
        # No browser has connected yet: the results were computed by the warm start (the
        # sidebar's choices, data presence, the demo flag, the Overview's cards, the
        # district table).
        m = re.match(re.escape(serve.DONE_PREFIX)
                     + r" ok in [\d.]+ s \((\d+) results computed, (\d+) views\)", line)
        assert m, line
        assert int(m.group(1)) >= 5, line
        # every page and lazy tab, then every page under the three filter variants
        assert int(m.group(2)) == len(navigation.views(variants=('a', 'b', 'c'))), line
        pg, watch = page
        pg.goto(f"http://127.0.0.1:{port}/")
        wait_for_app(pg)
        card = pg.locator('[data-testid="stMetric"]', has_text="Calls for service").first
        shown = int(re.sub(r"\D", "", card.locator('[data-testid="stMetricValue"]').inner_text()))
        con = duckdb.connect(str(served), read_only=True)
        try:
            assert shown == con.execute("SELECT count(*) FROM calls").fetchone()[0]
        finally:
            con.close()
        assert error_boxes(pg) == [] and watch.outside == []
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_streamlit_options_are_passed_on_and_the_warm_start_can_be_turned_off(
        monkeypatch) -> None:
    argv = serve.streamlit_argv(["--server.port", "9999"])
    assert argv[:2] == ["streamlit", "run"] and Path(argv[2]) == ROOT / "dashboard.py"
    assert argv[3:] == ["--server.port", "9999"]
    for off in ("0", "false", "Off"):
        monkeypatch.setenv("CSO_WARM_START", off)
        assert not serve.enabled()
    monkeypatch.delenv("CSO_WARM_START")
    assert serve.enabled()
