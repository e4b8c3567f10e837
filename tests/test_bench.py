"""``python -m analytics bench metrics --db PATH``: the project's response-time and
workload functions beside pandas on the same rows (analytics/bench.py). Runs on the tiny
city and checks that it produces rows and the same answers — never its timings."""

from __future__ import annotations

import json

from analytics import bench, cli
from analytics import response_hist as rh


def test_metrics_bench_rows_and_same_answers(tiny_db_file) -> None:
    out = bench.run_metrics_bench(tiny_db_file, repeats=1)
    r, w = out["response"], out["workload"]
    assert out["calls"] == 12 and r["rows_in"] == 12 and w["rows_in"] > 0
    assert r["groups"] > 0 and w["groups"] > 0
    assert r["path"].startswith("5-second histograms")
    # the histogram answer is within its bound of pandas' exact quantiles, counts equal
    assert r["same_counts"] and r["max_abs_diff_min"] <= rh.ERROR_BOUND_S / 60 + 1e-9
    assert w["max_abs_diff_h"] < 1e-9
    for side in ("project", "pandas"):
        assert set(r[side]) == set(w[side]) == {"wall_s", "cpu_s"}
    lines = bench.metrics_report_lines(out)
    assert any("pandas ÷ project" in line for line in lines) and len(lines) == 7


def test_metrics_bench_command_writes_json(tiny_db_file, tmp_path, capsys) -> None:
    path = tmp_path / "bench.json"
    assert cli.main(["bench", "metrics", "--db", str(tiny_db_file), "--repeats", "1",
                     "--json", str(path)]) == 0
    got = json.loads(path.read_text(encoding="utf-8"))
    assert got["response"]["groups"] > 0 and got["workload"]["groups"] > 0
    assert "median and P90" in capsys.readouterr().out
    assert cli.main(["bench", "metrics", "--db", str(tmp_path / "none.duckdb")]) == 2


def test_derived_bench_rebuilds_a_copy_and_leaves_the_database_alone(tiny_db_file, tmp_path,
                                                                     capsys) -> None:
    import duckdb

    from analytics import facts

    before = tiny_db_file.read_bytes()
    out_json = tmp_path / "derived.json"
    assert cli.main(["bench", "derived", "--db", str(tiny_db_file), "--repeats", "2",
                     "--workdir", str(tmp_path / "w"), "--json", str(out_json)]) == 0
    assert tiny_db_file.read_bytes() == before  # never written
    out = json.loads(out_json.read_text())
    assert not out["source_modified"] and len(out["runs"]) == 2
    for r in out["runs"]:
        assert r["cpu_s"] > 0 and r["db_mb"] > 0
        # user CPU is a part of user + system (each rounded to 0.01; two clocks of the kernel)
        assert 0 < r["user_cpu_s"] <= r["cpu_s"] + 0.02
        assert set(facts.WORKLOAD_AGGREGATES) <= set(r["tables"])
        assert not set(facts.RETIRED_TABLES) & set(r["tables"])
        assert any("call_facts" in s["sql"] for s in r["top_statements"])
    assert not list((tmp_path / "w").iterdir())  # the copies are gone
    printed = capsys.readouterr().out
    assert "run 2:" in printed and "figures written to" in printed
    # the copy was the source's: its call_facts has the source's rows
    with duckdb.connect(str(tiny_db_file), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM call_facts").fetchone()[0] > 0


def test_derived_bench_refuses_a_missing_database(tmp_path, capsys) -> None:
    assert cli.main(["bench", "derived", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no database" in capsys.readouterr().err
