"""Parquet export (``python -m analytics export --parquet DIR``): every table, a manifest."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from analytics import cli, db, facts, parquet
from analytics.errors import DatabaseError
from tests import tiny_city


@pytest.fixture()
def tiny_db(tmp_path):
    path = tmp_path / "tiny.duckdb"
    con = db.connect(path)
    tiny_city.build(con)
    con.close()
    return path


def test_export_writes_every_table_with_its_rows(tiny_db, tmp_path, capsys) -> None:
    out = tmp_path / "pq"
    assert cli.main(["export", "--parquet", str(out), "--db", str(tiny_db)]) == 0
    assert "written to" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == parquet.FORMAT
    assert manifest["schema_version"] == db.SCHEMA_VERSION
    # tiny_city.py: 12 calls (p1..p5, q1..q7), 5 units; the derived tables are there too.
    assert manifest["tables"]["calls"]["rows"] == 12
    assert manifest["tables"]["units"]["rows"] == 5
    for name in (*db.CANONICAL_TABLES, "call_facts", *facts.WORKLOAD_AGGREGATES,
                 "area_day_facts", "settings"):
        assert name in manifest["tables"], name
        # the row count in the manifest is the row count of the file written
        assert pq.read_metadata(out / f"{name}.parquet").num_rows == \
            manifest["tables"][name]["rows"], name
    cols = [c["name"] for c in manifest["tables"]["calls"]["columns"]]
    assert cols[:2] == ["call_id", "received_at"]
    assert pq.read_schema(out / "calls.parquet").names == cols


def test_export_replaces_an_earlier_export_and_refuses_other_folders(tiny_db, tmp_path) -> None:
    con = db.connect(tiny_db, read_only=True)
    try:
        out = tmp_path / "pq"
        parquet.export_parquet(con, out)
        (out / "stale_table.parquet").write_bytes(b"")  # a table the database no longer has
        parquet.export_parquet(con, out)
        assert not (out / "stale_table.parquet").exists()
        other = tmp_path / "notes"
        other.mkdir()
        (other / "todo.txt").write_text("keep me")
        with pytest.raises(DatabaseError, match="not empty"):
            parquet.export_parquet(con, other)
        assert (other / "todo.txt").read_text() == "keep me"
    finally:
        con.close()


def test_read_manifest_names_what_is_wrong(tiny_db, tmp_path) -> None:
    with pytest.raises(DatabaseError, match="manifest.json"):
        parquet.read_manifest(tmp_path)
    con = db.connect(tiny_db, read_only=True)
    out = tmp_path / "pq"
    try:
        parquet.export_parquet(con, out)
    finally:
        con.close()
    assert "calls" in parquet.read_manifest(out)["tables"]
    (out / "calls.parquet").unlink()
    with pytest.raises(DatabaseError, match=r"lacks calls\.parquet"):
        parquet.read_manifest(out)
    m = json.loads((out / "manifest.json").read_text())
    m["schema_version"] = db.SCHEMA_VERSION + 1
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DatabaseError, match="newer"):
        parquet.read_manifest(out)


def test_export_without_database_exits_2(tmp_path, capsys) -> None:
    assert cli.main(["export", "--parquet", str(tmp_path / "pq"),
                     "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().err
