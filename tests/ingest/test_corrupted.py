"""Broken files: a clear message naming file/row/column, and the database unchanged.

Files that cannot be imported at all raise InputDataError and change nothing. Files with
some bad rows import the rest; each bad row is in the rejects with row, column, reason.
"""

from __future__ import annotations

import pytest

from analytics.errors import InputDataError
from analytics.ingest import import_file
from tests.ingest.conftest import db_state, write

HEADER = "call_id,received_at,arrived_at,priority,call_type\n"
GOOD = HEADER + (
    "A1,2024-01-01 10:00:00,2024-01-01 10:07:00,1,THEFT\n"
    "A2,2024-01-01 11:00:00,2024-01-01 11:09:30,2,NOISE\n"
    "A3,2024-01-02 08:15:00,,3,PARKING\n"
)


@pytest.fixture
def seeded(con, tmp_path):
    """A database that already holds the three good calls."""
    import_file(con, "calls", write(tmp_path / "good.csv", GOOD))
    return con


def _fails(con, path, *, preset=None):
    before = db_state(con)
    with pytest.raises(InputDataError) as exc:
        import_file(con, "calls", path, preset=preset)
    assert db_state(con) == before
    assert path.name in str(exc.value)
    return exc.value


def test_empty_file(seeded, tmp_path):
    err = _fails(seeded, write(tmp_path / "empty.csv", b""))
    assert "empty" in str(err)


def test_header_only(seeded, tmp_path):
    err = _fails(seeded, write(tmp_path / "header.csv", HEADER))
    assert "no data rows" in str(err)
    assert err.row == 2


def test_wrong_delimiter(seeded, tmp_path):
    # Preset says comma; the file uses semicolons, so the header is one column.
    from dataclasses import replace

    from analytics.ingest import load_preset

    preset = replace(load_preset("canonical", "calls"), delimiter=",")
    path = write(tmp_path / "semi.csv", GOOD.replace(",", ";"))
    err = _fails(seeded, path, preset=preset)
    assert err.column == "call_id"
    assert "delimiter" in str(err)


def test_wrong_delimiter_is_detected_without_a_preset_delimiter(con, tmp_path):
    r = import_file(con, "calls", write(tmp_path / "semi.csv", GOOD.replace(",", ";")))
    assert (r.rows_loaded, r.rows_rejected) == (3, 0)


def test_missing_required_column(seeded, tmp_path):
    path = write(tmp_path / "nocol.csv", "call_id,arrived_at\nB1,2024-01-01 10:00:00\n")
    err = _fails(seeded, path)
    assert err.column == "received_at" and err.row == 1
    assert "required column missing" in str(err)


def test_unreadable_file(seeded, tmp_path):
    err = _fails(seeded, tmp_path / "does_not_exist.csv")
    assert "not found" in str(err)


def test_truncated_file(con, tmp_path):
    # The last record is cut in the middle of the row: too few fields.
    path = write(tmp_path / "trunc.csv", GOOD + "A4,2024-01-03 09:")
    r = import_file(con, "calls", path)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (4, 3, 1)
    assert r.rejects[0].row == 5 and "too few fields" in r.rejects[0].reason


def test_truncated_inside_quotes_changes_nothing(seeded, tmp_path):
    path = write(tmp_path / "trunc_q.csv", GOOD + 'A4,2024-01-03 09:00:00,,1,"UNFINISHED')
    before = db_state(seeded)
    try:
        r = import_file(seeded, "calls", path)
    except InputDataError as exc:  # unterminated quote: the whole file is refused
        assert "trunc_q.csv" in str(exc)
        assert db_state(seeded) == before
    else:  # or the cut record is rejected and the rest is already present
        assert r.rows_rejected == 1 and r.rows_loaded == 0 and r.rows_unchanged == 3


def test_bad_dates_rejected_with_row_and_column(con, tmp_path):
    path = write(tmp_path / "dates.csv", HEADER
                 + "B1,2024-01-01 10:00:00,,1,X\n"
                 + "B2,31/02/2024 25:00,,1,X\n"
                 + "B3,2024-01-01 10:00:00,yesterday,1,X\n")
    r = import_file(con, "calls", path)
    assert (r.rows_loaded, r.rows_rejected) == (1, 2)
    got = {(x.row, x.column, x.value, x.reason) for x in r.rejects}
    assert got == {(3, "received_at", "31/02/2024 25:00", "unparseable time"),
                   (4, "arrived_at", "yesterday", "unparseable time")}


def test_duplicate_ids_in_file(con, tmp_path):
    path = write(tmp_path / "dups.csv", HEADER
                 + "C1,2024-01-01 10:00:00,,1,X\n"
                 + "C2,2024-01-01 11:00:00,,1,X\n"
                 + "C1,2024-01-01 12:00:00,,1,Y\n")
    r = import_file(con, "calls", path)
    assert (r.rows_loaded, r.rows_rejected) == (2, 1)
    (rej,) = r.rejects
    assert rej.row == 4 and rej.value == "C1"
    assert rej.reason == "duplicate call_id in file (first at row 2)"


def test_non_utf8_bytes(con, tmp_path):
    # A Latin-1 file (é = 0xE9) is detected and read as Latin-1.
    path = write(tmp_path / "latin1.csv", (HEADER + "D1,2024-01-01 10:00:00,,1,CAF\xe9\n")
                 .encode("latin-1"))
    r = import_file(con, "calls", path)
    assert r.rows_loaded == 1
    assert con.execute("SELECT call_type FROM calls").fetchall() == [("CAFé",)]


def test_non_utf8_bytes_when_utf8_is_declared(seeded, tmp_path):
    from dataclasses import replace

    from analytics.ingest import load_preset

    preset = replace(load_preset("canonical", "calls"), encoding="utf-8")
    path = write(tmp_path / "bad.csv", HEADER.encode() + b"D1,2024-01-01 10:00:00,,1,CAF\xe9\n")
    before = db_state(seeded)
    r = import_file(seeded, "calls", path, preset=preset)
    assert (r.rows_loaded, r.rows_rejected) == (0, 1)
    assert r.rejects[0].row == 2 and "UTF-8" in r.rejects[0].reason
    # Only the import record and its rejects were added; no data.
    after = db_state(seeded)
    assert {k: v for k, v in after.items() if not k.startswith("import")} == \
        {k: v for k, v in before.items() if not k.startswith("import")}


def test_ten_thousand_character_cell(con, tmp_path):
    long = "X" * 10_000
    path = write(tmp_path / "long.csv", HEADER
                 + f"E1,2024-01-01 10:00:00,,1,{long}\n"
                 + f"E2,{long},,1,X\n")
    r = import_file(con, "calls", path)
    assert (r.rows_loaded, r.rejected if hasattr(r, "rejected") else r.rows_rejected) == (1, 1)
    assert con.execute("SELECT length(call_type) FROM calls").fetchall() == [(10_000,)]
    (rej,) = r.rejects
    assert rej.row == 3 and rej.column == "received_at"
    assert rej.value.endswith("(10,000 characters)") and len(rej.value) < 300


def test_failure_mid_import_rolls_everything_back(seeded, tmp_path, monkeypatch):
    from analytics import facts

    def boom(con, call_ids_sql=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(facts, "refresh_derived", boom)
    before = db_state(seeded)
    path = write(tmp_path / "more.csv", HEADER + "F1,2024-02-01 10:00:00,,1,X\n")
    with pytest.raises(RuntimeError):
        import_file(seeded, "calls", path)
    assert db_state(seeded) == before
