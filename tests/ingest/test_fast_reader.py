"""The typed-reader fast path gives exactly what the text path gives.

`_typed_scan` lets DuckDB's CSV reader parse timestamps and decimals while it splits the
lines; when any value does not parse the importer stages the file again on the text path.
Each test imports the same file twice, fast reader on and off, and compares every
canonical table, the rejects and the warnings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import bench, db
from analytics.ingest import _load, import_file, parse_preset
from tests.ingest.conftest import REAL_EXPORTS, shared_file, write

TABLES = ("calls", "assignments", "units", "incidents", "import_rejects", "import_warnings",
          "call_facts")


def _contents(con) -> dict[str, list]:
    out = {}
    for t in TABLES:  # fixed names
        out[t] = sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
    return out


def _both(monkeypatch, table: str, path: Path, preset) -> tuple[dict, dict, list[bool]]:
    """Import ``path`` fast and slow into two fresh databases; record whether the typed
    scan was used."""
    used: list[bool] = []
    real = _load._typed_scan

    def spy(*args, **kwargs):
        plan = real(*args, **kwargs)
        used.append(plan is not None)
        return plan

    monkeypatch.setattr(_load, "_typed_scan", spy)
    fast = db.connect(":memory:")
    import_file(fast, table, path, preset=preset)
    monkeypatch.setattr(_load, "FAST_READER", False)
    slow = db.connect(":memory:")
    import_file(slow, table, path, preset=preset)
    monkeypatch.setattr(_load, "FAST_READER", True)
    return _contents(fast), _contents(slow), used


def test_benchmark_export_takes_the_fast_path_with_identical_result(monkeypatch, tmp_path):
    path = tmp_path / "cad.csv"
    bench.write_cad_csv(path, 3000, seed=5)
    preset = parse_preset(bench.BENCH_PRESET, where="bench")
    fast, slow, used = _both(monkeypatch, "calls", path, preset)
    assert used == [True]
    assert len(fast["calls"]) == 3000 and len(fast["assignments"]) == 3000
    assert fast == slow


def test_bad_value_after_the_probe_falls_back_and_is_reported(monkeypatch, tmp_path):
    # The probe reads the first rows only; a bad time near the end fails the typed scan,
    # and the text path reports it with its row and column.
    monkeypatch.setattr(_load, "PROBE_ROWS", 10)
    lines = ["call_id,received_at,arrived_at,lat,lon"]
    lines += [f"C{i},2024-01-01 10:{i % 60:02d}:00,2024-01-01 11:00:00,47.6,-122.3"
              for i in range(50)]
    lines += ["C50,2024-01-01 12:00:00, 2024-01-01 12:30:00 ,47.6,-122.3",  # spaces: trimmed
              "C51,yesterday noon,,47.6,-122.3",                            # file row 53
              "C52,2024-01-01 13:00:00,,north,-122.3"]                      # file row 54
    path = write(tmp_path / "calls.csv", "\n".join(lines) + "\n")
    fast, slow, used = _both(monkeypatch, "calls", path, "canonical")
    assert used == [False]
    assert fast == slow
    rejects = {(r[2], r[3], r[5]) for r in fast["import_rejects"]}
    # Row 54's latitude does not parse, which also leaves a longitude without latitude.
    assert rejects == {(53, "received_at", "unparseable time"), (54, "lat", "not a number"),
                       (54, "lat", "latitude without longitude or the reverse")}
    assert len(fast["calls"]) == 51
    arrived = {r[0]: r[4] for r in fast["calls"]}  # arrived_at is the 5th calls column
    assert str(arrived["C50"]) == "2024-01-01 12:30:00"


def test_quoted_iso_times_and_empty_values(monkeypatch, tmp_path):
    text = ('call_id,received_at,dispatched_at,arrived_at,lat,lon,priority\n'
            '"A1","2024-03-01 08:00:00","2024-03-01 08:01:30",,47.61,-122.33,1\n'
            'A2,2024-03-01T09:00:00,,"2024-03-01 09:20:00",,,2\n'
            'A3,2024-03-01 10:00:00.250,2024-03-01 10:02:00,2024-03-01 10:10:00,47.6,-122.3,3\n')
    path = write(tmp_path / "iso.csv", text)
    fast, slow, used = _both(monkeypatch, "calls", path, "canonical")
    assert used == [True]
    assert fast == slow
    assert [r[0] for r in fast["calls"]] == ["A1", "A2", "A3"]


@pytest.mark.parametrize(("table", "rel", "preset"), [
    ("calls", "seattle_spd_call_data/spd_call_data_east_charlie_sample.csv", "seattle_spd_calls"),
    *REAL_EXPORTS,
])
def test_real_exports_give_the_same_rows_on_both_paths(monkeypatch, table, rel, preset):
    fast, slow, _ = _both(monkeypatch, table, shared_file(rel), preset)
    assert fast == slow
