"""CLI: clear errors and exit code 2 on bad arguments; info on a database."""

from __future__ import annotations

import pytest

from analytics import cli, db


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
