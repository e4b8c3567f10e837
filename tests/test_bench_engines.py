"""bench metrics: the measuring wrapper (the figures themselves are in docs/scale.md)."""

from __future__ import annotations

import sys

from analytics import bench_engines


def test_run_measured_reports_exit_output_and_group_figures() -> None:
    r = bench_engines.run_measured([sys.executable, "-c", "print('hi'); raise SystemExit(3)"])
    assert r["returncode"] == 3
    assert r["stdout_tail"] == ["hi"]
    for key in ("wall_s", "cpu_s", "peak_rss_mb", "load_before", "load_after"):
        assert r[key] >= 0.0, key


def test_report_lines_say_whether_the_json_agrees() -> None:
    run = {"wall_s": 1.0, "cpu_s": 0.5, "peak_rss_mb": 10.0, "load_before": 1.0,
           "load_after": 1.0, "returncode": 0, "stderr_tail": []}
    lines = bench_engines.report_lines({"runs": {"duckdb": run, "spark": run},
                                        "same_json": False, "differences": [".calls: 1 != 2"]})
    assert lines[-2].endswith("NO") and lines[-1].strip() == ".calls: 1 != 2"
