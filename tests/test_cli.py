"""CLI: clear errors and exit code 2 on bad arguments; info on a database."""

from __future__ import annotations

import pytest

from analytics import cli, db, facts


@pytest.mark.parametrize("argv", [
    ["demo", "--calls", "-5"],
    ["demo", "--calls", "many"],
    ["nonsense"],
    [],
])
def test_bad_arguments_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err.lower()


def test_info_without_database_exits_2(tmp_path, capsys) -> None:
    assert cli.main(["info", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no database" in capsys.readouterr().err


def test_info_prints_counts_and_ranges(tmp_path, capsys) -> None:
    path = tmp_path / "x.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO calls (call_id, received_at) VALUES ('1', '2024-01-02 03:04:05'), "
                "('2', '2024-02-03 00:00:00')")
    con.close()
    assert cli.main(["info", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("calls "))
    assert " 2 " in line and "2024-01-02 03:04:05" in line and "2024-02-03" in line


def test_demo_refuses_to_overwrite(tmp_path, capsys) -> None:
    path = tmp_path / "x.duckdb"
    db.connect(path).close()
    assert cli.main(["demo", "--db", str(path), "--calls", "1000"]) == 2
    assert "--force" in capsys.readouterr().err


def test_init_creates_an_empty_database_and_refuses_an_existing_file(tmp_path, capsys) -> None:
    path = tmp_path / "mine.duckdb"
    assert cli.main(["init", "--db", str(path)]) == 0
    assert "empty database created" in capsys.readouterr().out
    con = db.connect(path, read_only=True)
    try:
        counts = db.table_counts(con)
        assert db.database_kind(con) == "empty"
    finally:
        con.close()
    for table in db.CANONICAL_TABLES:
        assert counts[table] == 0, table
    assert counts["call_facts"] == 0  # derived tables exist, so pages can query
    before = path.read_bytes()
    assert cli.main(["init", "--db", str(path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_first_import_marks_an_init_database_real(tmp_path) -> None:
    from analytics.ingest import import_file

    path = facts.init_database(tmp_path / "mine.duckdb")
    csv = tmp_path / "c.csv"
    csv.write_text("call_id,received_at\nA,2024-01-01 10:00:00\n", encoding="utf-8")
    con = db.connect(path)
    try:
        import_file(con, "calls", csv)
        assert db.database_kind(con) == "real"
    finally:
        con.close()


def test_demo_database_is_marked_demo(demo_con) -> None:
    assert db.database_kind(demo_con) == "demo"


def test_info_without_database_names_init_and_demo(tmp_path, capsys) -> None:
    assert cli.main(["info", "--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "analytics init" in err and "analytics demo" in err


def test_upgrade_points_to_compact_and_compact_reports_the_sizes(demo_db_path, tmp_path,
                                                                  capsys, monkeypatch) -> None:
    import shutil

    monkeypatch.setattr(cli, "COMPACT_HINT_BYTES", 1 << 20)  # the 60k-call demo frees ~5 MB

    path = tmp_path / "c.duckdb"
    shutil.copyfile(demo_db_path, path)
    con = db.connect(path)
    facts.refresh_derived(con)  # every derived table rebuilt: the old ones' blocks are free
    con.execute("CHECKPOINT")
    free = db.free_bytes(con)
    con.close()
    assert free >= cli.COMPACT_HINT_BYTES
    assert cli.main(["upgrade", "--db", str(path)]) == 0
    assert f"python -m analytics compact --db {path}" in capsys.readouterr().out
    before = path.stat().st_size
    assert cli.main(["compact", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    after = path.stat().st_size
    assert after < before
    assert f"{before / 1e6:,.0f} MB -> {after / 1e6:,.0f} MB" in out
    assert cli.main(["upgrade", "--db", str(path)]) == 0
    assert "analytics compact" not in capsys.readouterr().out
    assert cli.main(["compact", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no database at" in capsys.readouterr().err
