"""The import benchmark runs end to end on a small file (speed is measured, not asserted)."""

from __future__ import annotations

import json

from analytics.cli import main


def test_bench_import_small(tmp_path, capsys):
    out_json = tmp_path / "bench.json"
    code = main(["bench", "import", "--calls", "3000", "--json", str(out_json),
                 "--workdir", str(tmp_path)])
    assert code == 0
    text = capsys.readouterr().out
    assert "rows/s" in text and "ratio" in text
    figures = json.loads(out_json.read_text())
    assert figures["rows_loaded"] == 3000 and figures["rows_rejected"] == 0
    assert figures["assignments_loaded"] == 3000
    assert figures["forced_reimport_unchanged"] == 3000
    assert figures["import_rows_per_s"] > 0 and figures["ratio_import_vs_pandas"] > 0
    assert figures["duckdb_ctas_rows_per_s"] > 0 and "CREATE TABLE AS" in text
    # All three ratios and the file-to-dashboard time are printed; the parts add up.
    for name in ("÷ DuckDB two tables", "÷ pandas", "÷ DuckDB one table", "file to dashboard"):
        assert name in text, name
    parts = figures["import_s"] + figures["derived_refresh_s"] + figures["claims_s"]
    assert abs(figures["file_to_dashboard_s"] - parts) < 0.05
    assert figures["claims_stored"] is True  # the benchmark city's deployments answer them
    assert 0 < figures["peak_rss_mb_import"] <= figures["peak_rss_mb_file_to_dashboard"]
    # CPU-seconds of the baselines beside their wall times, and the ratios from them.
    assert "CPU-seconds ratio" in text
    assert figures["duckdb_two_tables_cpu_s"] > figures["duckdb_ctas_cpu_s"] > 0
    imp = figures["import_cpu_s"]
    cpu_parts = imp + figures["derived_refresh_cpu_s"] + figures["claims_cpu_s"]
    for ratio, numerator in (("cpu_ratio_import_vs_duckdb_two_tables", "duckdb_two_tables_cpu_s"),
                             ("cpu_ratio_import_vs_pandas", "pandas_read_insert_cpu_s"),
                             ("cpu_ratio_file_to_dashboard_vs_import", cpu_parts)):
        r = figures[ratio]
        b = figures[numerator] if isinstance(numerator, str) else numerator
        # every figure is rounded to 0.01: ratio x import = baseline within what that allows
        assert abs(r * imp - b) <= 0.02 + 0.005 * (imp + r), ratio
    # The user CPU-seconds (without the system part) beside them: each a part of its
    # phase's CPU-seconds, and the ratios from them.
    assert "user CPU-seconds ratio" in text and "user CPU-s" in text
    user = {k: figures[f"{k}_user_cpu_s"] for k in ("import", "derived_refresh", "claims")}
    for k, u in user.items():
        assert 0 < u <= figures[f"{k}_cpu_s"] + 0.02, k
    for ratio, b in (("user_cpu_ratio_import_vs_duckdb_two_tables",
                      figures["duckdb_two_tables_user_cpu_s"]),
                     ("user_cpu_ratio_import_vs_pandas", figures["pandas_read_insert_user_cpu_s"]),
                     ("user_cpu_ratio_file_to_dashboard_vs_import", sum(user.values()))):
        r, imp_u = figures[ratio], user["import"]
        assert abs(r * imp_u - b) <= 0.02 + 0.005 * (imp_u + r), ratio
    assert figures["duckdb_two_tables_user_cpu_s"] <= figures["duckdb_two_tables_cpu_s"] + 0.02
    # Two tables take longer than one (same file, the second table on top).
    assert figures["duckdb_two_tables_s"] > figures["duckdb_ctas_s"] > 0
    # Only the database files go; a CSV given with --csv is imported and kept.
    csv = tmp_path / "bench_cad_3000.csv"
    assert not csv.exists()
    from analytics.bench import write_cad_csv

    write_cad_csv(csv, 3000)
    assert main(["bench", "import", "--calls", "3000", "--csv", str(csv), "--workdir",
                 str(tmp_path), "--no-baseline", "--no-reimport", "--profile"]) == 0
    text = capsys.readouterr().out
    assert csv.exists() and "3,000" in text
    assert "profile import" in text and "profile derived" in text  # statements timed


def test_time_ordered_file_has_the_same_rows_in_order_of_receipt(tmp_path):
    import duckdb

    from analytics.bench import BENCH_PRESET, write_cad_csv

    shuffled, ordered = tmp_path / "s.csv", tmp_path / "o.csv"
    write_cad_csv(shuffled, 2000, seed=3)
    write_cad_csv(ordered, 2000, seed=3, time_ordered=True)
    con = duckdb.connect()
    fmt = BENCH_PRESET["time"]["formats"][0]

    def rows(p):
        return con.execute("SELECT * FROM read_csv(?, all_varchar = true)", [str(p)]).fetchall()

    def received(p):
        return [r[0] for r in con.execute(
            'SELECT strptime("Call Received", ?) FROM read_csv(?, all_varchar = true)',
            [fmt, str(p)]).fetchall()]

    assert sorted(rows(shuffled)) == sorted(rows(ordered))  # the same 2000 rows
    assert received(ordered) == sorted(received(ordered))
    assert received(shuffled) != sorted(received(shuffled))  # hashed times: no order
