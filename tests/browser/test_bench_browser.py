"""`python -m analytics bench pages` on the 60,000-call test city: a row for every page's
cold and warm visit and for its filter changes, no problem on any, the file untouched.
No timing is asserted (the figures are docs/performance.md's)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from analytics import db
from tests.browser.support import ROOT, need_browser
from ui import bench_browser


def test_bench_pages_measures_every_page_and_writes_json(demo_db_path: Path, tmp_path: Path):
    need_browser()
    served = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_path, served)
    out_json = tmp_path / "pages.json"
    # The command as a user runs it, in its own process: the benchmark starts its own sync
    # Playwright, which cannot run inside this session's (the `browser` fixture's loop).
    done = subprocess.run(
        [sys.executable, "-m", "analytics", "bench", "pages", "--db", str(served),
         "--one-server", "--quiet", "0.2", "--json", str(out_json)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    out = json.loads(out_json.read_text())
    assert [s for s in out["steps"] if s["problems"]] == []
    assert done.returncode == 0, done.stderr[-2000:]
    titles = [p.title for p in bench_browser.pages()]
    assert len(titles) == 9  # dashboard.py's navigation, parsed from the file
    seen = {(s["page"], s["interaction"].split(" (")[0]) for s in out["steps"]}
    for title in titles:
        assert (title, "cold") in seen and (title, "warm") in seen, title
        assert (title, "reload") in seen, title
        assert (title, "district change") in seen and (title, "date change") in seen, title
    # every tab after the first of the tabbed pages was clicked
    assert any(i.startswith("tab: ") for p, i in seen if p == "Workload & offload")
    assert all(s["wall_s"] is not None and s["cpu_s"] >= 0 and s["rss_mb"] > 0
               and s["browser_cpu_s"] >= 0 for s in out["steps"])
    # loading the frontend into a new browser session costs chromium CPU time
    assert all(s["browser_cpu_s"] > 0 for s in out["steps"] if s["interaction"] == "cold")
    # the district picked is the data's first (an independent query here)
    con = db.connect(served, read_only=True)
    first = con.execute("SELECT min(district) FROM calls").fetchall()[0][0]
    n = con.execute("SELECT count(*) FROM calls").fetchall()[0][0]
    con.close()
    assert any(s["interaction"] == f"district change ({first})" for s in out["steps"])
    assert out["calls"] == n and out["baseline_start"]["wall_s"] > 0
    assert out["database_modified"] is False
    assert out["peak_rss_mb"] > 0 and len(out["servers"]) == 1
    # the browser floor: the data-free page, on a server of its own per chart count, each
    # visited as a page is; what it drew is counted (the floor's charts, the pages' too)
    floor = out["floor"]
    assert floor["charts"] == list(bench_browser.FLOOR_CHARTS) and len(floor["servers"]) == 2
    fseen = {(s["page"], s["interaction"].split(" (")[0]): s for s in floor["steps"]}
    for spec in bench_browser.FLOOR_CHARTS:
        title = bench_browser.floor_title(spec)
        for what in ("cold", "reload", "warm", "district change", "date change"):
            assert (title, what) in fseen, (title, what)
        assert fseen[(title, "cold")]["elements"]["charts"] == int(spec)
    assert all(not s["problems"] for s in floor["steps"])
    cold = {s["page"]: s["elements"] for s in out["steps"] if s["interaction"] == "cold"}
    assert cold["Response times"]["charts"] > 0 and cold["Maps"]["frames"] > 0


def test_floor_pages_are_read_from_their_specs() -> None:
    assert bench_browser.floor_spec("8") == (8, "plotly")
    assert bench_browser.floor_spec("3:vega") == (3, "vega")
    assert bench_browser.floor_title("8:static") == "floor: 8 charts (static)"
    for bad in ("x", "8:svg", "-1", ""):
        try:
            bench_browser.floor_spec(bad)
        except ValueError as e:
            assert repr(bad) in str(e)
        else:
            raise AssertionError(f"{bad!r} accepted")


def _run(calls: int, steps: list[tuple[str, str, float | None, float]]) -> dict:
    return {"calls": calls, "peak_rss_mb": 600, "load_avg_start": [1.0], "load_avg_end": [1.2],
            "started_at": "2026-12-04 04:00:00 UTC",
            "baseline_start": {"wall_s": 0.1, "cpu_s": 0.1},
            "floor": {"steps": []},
            "steps": [{"page": p, "interaction": i, "wall_s": w, "cpu_s": c} for p, i, w, c in steps]}


def test_bench_scale_puts_runs_side_by_side(tmp_path: Path, capsys) -> None:
    from analytics import cli

    small = _run(1_000_000, [("Overview", "cold", 1.5, 0.20), ("Overview", "warm", 1.0, 0.0),
                             ("Maps", "cold", None, 0.30)])
    big = _run(10_000_000, [("Overview", "cold", 1.8, 0.50), ("Overview", "warm", 1.1, 0.10),
                            ("Data", "cold", 0.9, 0.25)])
    files = []
    for name, run in (("1m", small), ("10m", big)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(run), encoding="utf-8")
    assert cli.main(["bench", "scale", *map(str, files)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("| page | interaction | 1M wall s | 1M server CPU-s | 10M wall s | "
                        "10M server CPU-s | CPU 10M ÷ 1M |")
    rows = {tuple(c.strip() for c in ln.strip("|").split("|"))[:2]: ln for ln in lines[2:] if ln.startswith("| ")}
    assert rows[("Overview", "cold")].endswith("| 1.50 | 0.20 | 1.80 | 0.50 | 2.5× |")  # 0.50 / 0.20
    assert rows[("Overview", "warm")].endswith("| 0.00 | 1.10 | 0.10 | — |")  # no ratio from 0
    assert rows[("Maps", "cold")].endswith("| — | 0.30 | — | — | — |")  # not in the 10M run
    assert rows[("Data", "cold")].endswith("| — | — | 0.90 | 0.25 | — |")
    assert any(ln.startswith("- 10M (10,000,000 calls") for ln in lines)
