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
