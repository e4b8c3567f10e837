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
    # Two tables take longer than one (same file, the second table on top).
    assert figures["duckdb_two_tables_s"] > figures["duckdb_ctas_s"] > 0
    # Only the database files go; a CSV given with --csv is imported and kept.
    csv = tmp_path / "bench_cad_3000.csv"
    assert not csv.exists()
    from analytics.bench import write_cad_csv

    write_cad_csv(csv, 3000)
    assert main(["bench", "import", "--calls", "3000", "--csv", str(csv), "--workdir",
                 str(tmp_path), "--no-baseline", "--no-reimport"]) == 0
    assert csv.exists() and "3,000" in capsys.readouterr().out
