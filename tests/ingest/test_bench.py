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
