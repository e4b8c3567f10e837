"""Broken records cost their row, not the file; non-text files and hostile headers are
refused with a message saying what the file is (issue 17). Each case below was refused
whole (or stored as is) before the record scanner."""

from __future__ import annotations

import pytest

from analytics.errors import InputDataError
from analytics.ingest import import_file
from tests.ingest.conftest import db_state, write

H = b"call_id,received_at,priority,call_type\n"
N = 3000


def _file(bad: bytes | None = None, at: int = 1502, eol: bytes = b"\n") -> bytes:
    # Every good row has an accented value, so the file is UTF-8 with multi-byte text.
    rows = [b"A%d,2024-01-01 10:00:00,1,T\xc3\xa9%s" % (i, eol) for i in range(N)]
    if bad is not None:
        rows[at - 2] = bad
    return H + b"".join(rows)


def _ids(con) -> set[str]:
    return {v for (v,) in con.execute("SELECT call_id FROM calls").fetchall()}


@pytest.mark.parametrize(("bad", "reason"), [
    (b'A1500,"2024-01-01 10:00:00,1,X\n', "a quote opened and never closed"),
    (b'A1500,"2024-01-01 10:00:00"x,1,X\n', "bad quoting"),
    (b"A1500,2024-01-01 10:00:00,1,\xff\xfeX\n", "bytes that are not valid UTF-8"),
    (b"A1500,2024-01-01 10:00:00,1,X\x00Y\n", "a NUL byte"),
    (b"A1500,2024-01-01 10:00:00,1,X,EXTRA\n", "too many fields"),
    (b"A1500,2024-01-01 10:00:00\n", "too few fields"),
    (b'A1500,2024-01-01 10:00:00,1,"' + b"x" * (3 << 20) + b'"\n', "line longer than 2 MB"),
])
def test_one_broken_record_costs_its_row(con, tmp_path, bad, reason):
    r = import_file(con, "calls", write(tmp_path / "x.csv", _file(bad)))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (N, N - 1, 1)
    (rej,) = r.rejects
    assert rej.row == 1502 and rej.reason.startswith(reason)
    assert rej.value.startswith("A1500,") and len(rej.value) < 300  # the raw text, cut
    assert _ids(con) == {f"A{i}" for i in range(N)} - {"A1500"}
    # The accents of the other rows were read as UTF-8, not as Latin-1 mojibake.
    assert con.execute("SELECT DISTINCT call_type FROM calls").fetchall() == [("Té",)]


def test_mixed_line_endings_load_every_row(con, tmp_path):
    data = _file(eol=b"\r\n")
    data = data[: len(data) // 2] + data[len(data) // 2:].replace(b"\r\n", b"\n")
    r = import_file(con, "calls", write(tmp_path / "mixed.csv", data))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (N, N, 0)


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_carriage_return_inside_quotes_stays_in_the_value(con, tmp_path, eol):
    data = _file(b'"A1500",2024-01-01 10:00:00,1,"LINE1\rLINE2"' + eol, eol=eol)
    r = import_file(con, "calls", write(tmp_path / "cr.csv", data))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (N, N, 0)
    assert con.execute("SELECT call_type FROM calls WHERE call_id = 'A1500'").fetchall() == \
        [("LINE1\rLINE2",)]


@pytest.mark.parametrize(("data", "looks_like"), [
    (b"\x1f\x8b\x08\x00" + bytes(200), "gzip"),
    (b"PK\x03\x04" + bytes(200), "Excel workbook"),
    (b'[{"call_id": "A1"}]\n', "JSON"),
    (b'{"type": "FeatureCollection"}\n', "JSON"),
    (bytes(range(256)) * 40, "binary data"),
    (b"%PDF-1.7\n" + bytes(200), "PDF"),
])
def test_files_that_are_not_text_are_refused_saying_what_they_look_like(con, tmp_path, data,
                                                                        looks_like):
    before = db_state(con)
    with pytest.raises(InputDataError) as exc:
        import_file(con, "calls", write(tmp_path / "export.csv", data))
    assert "not delimited text" in str(exc.value) and looks_like in str(exc.value)
    assert "latin-1" not in str(exc.value).lower()
    assert db_state(con) == before


def test_a_header_of_100000_columns_is_refused_before_it_is_read(con, tmp_path):
    header = b",".join(b"c%d" % i for i in range(100_000))
    with pytest.raises(InputDataError) as exc:
        import_file(con, "calls", write(tmp_path / "wide.csv", header + b"\n" + b"1," * 99_999
                                        + b"1\n"))
    assert "at most 1,000" in str(exc.value) and exc.value.row == 1


def test_repeated_header_names_are_refused_naming_them(con, tmp_path):
    with pytest.raises(InputDataError) as exc:
        import_file(con, "calls", write(tmp_path / "dup.csv",
                                        b"call_id,received_at,call_type,call_type\n"
                                        b"A,2024-01-01 10:00:00,X,Y\n"))
    assert "'call_type' twice (columns 3 and 4)" in str(exc.value)
