"""``python -m analytics import``: summary lines, exit 0 with rejects, exit 2 when unusable."""

from __future__ import annotations

from analytics import db
from analytics.cli import main
from tests.ingest.conftest import shared_file, write


def test_cli_imports_and_reports(tmp_path, capsys):
    dbp = tmp_path / "cso.duckdb"
    path = shared_file("dallas_active_calls/dallas_active_calls_2018-01-09.csv")
    code = main(["import", "calls", str(path), "--preset", "dallas_active_calls", "--db", str(dbp),
                 "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert "rows read 63" in out and "rejected 0" in out and "assignments: 63 new" in out
    code = main(["import", "calls", str(path), "--preset", "dallas_active_calls", "--db", str(dbp),
                 "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "loaded 0 new" in out and "already present" in out


def test_cli_rejects_still_exit_zero_and_write_report(tmp_path, capsys):
    dbp = tmp_path / "cso.duckdb"
    path = write(tmp_path / "c.csv", "call_id,received_at\nA,2024-01-01 10:00:00\nB,never\n")
    assert main(["import", "calls", str(path), "--db", str(dbp), "-q"]) == 0
    out = capsys.readouterr().out
    assert "rejected 1" in out
    report = tmp_path / "rejects" / "cso_import_0001_c.csv"  # <db>_import_NNNN_<file>
    assert report.exists()
    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines == ["file,row,column,value,reason", "c.csv,3,received_at,never,unparseable time"]


def test_cli_exit_2_names_file_and_column(tmp_path, capsys):
    dbp = tmp_path / "cso.duckdb"
    db.connect(dbp).close()
    path = write(tmp_path / "nocall.csv", "id,received_at\nA,2024-01-01 10:00:00\n")
    assert main(["import", "calls", str(path), "--db", str(dbp), "-q"]) == 2
    err = capsys.readouterr().err
    assert "nocall.csv" in err and "'call_id'" in err and "unchanged" in err


def test_cli_preset_file_and_wrong_table(tmp_path, capsys):
    dbp = tmp_path / "cso.duckdb"
    path = shared_file("denver_crime_sample/denver_incidents_1.csv")
    assert main(["import", "calls", str(path), "--preset", "denver_crime", "--db", str(dbp),
                 "-q"]) == 2
    assert "is for table incidents" in capsys.readouterr().err
    preset = tmp_path / "p.toml"
    preset.write_text('name = "p"\ntable = "incidents"\n[columns]\nincident_id = "OFFENSE_ID"\n',
                      encoding="utf-8")
    assert main(["import", "incidents", str(path), "--preset-file", str(preset), "--db", str(dbp),
                 "-q"]) == 0
    assert "loaded 46 new" in capsys.readouterr().out
