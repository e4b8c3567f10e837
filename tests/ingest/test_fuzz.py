"""Fuzz (hypothesis): one damaged record in an otherwise good CSV costs that record only.

The damage is one of: a stray quote (at the start of a field, inside a field, after a
closing quote), a byte that is not UTF-8, a NUL byte, a CRLF or lone-CR line end, a CR
inside a quoted value, a field too many or too few, a 70,000-character value, a date
anywhere in years 1..9999. Whatever the damage: the import never raises anything but a
named error (never a traceback), a refused file changes nothing, and a loaded file has
every undamaged row and rejects at most the damaged row (by its row number).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import db
from analytics.errors import CSOError
from analytics.ingest import import_file
from tests.ingest.conftest import db_state

HEADER = b"call_id,received_at,priority,call_type\n"
DAMAGES = ("quote_start", "quote_inside", "quote_after", "bad_byte", "nul", "crlf", "lone_cr",
           "cr_in_quotes", "extra_field", "missing_field", "huge_value", "date")


def _row(i: int, when: str = "2024-05-01 10:00:00", ctype: str = "THEFT") -> bytes:
    return f"F{i},{when},{1 + i % 4},{ctype}\n".encode()


@st.composite
def damaged_files(draw):
    n = draw(st.integers(3, 40))
    k = draw(st.integers(0, n - 1))  # the damaged record (row k + 2 of the file)
    kind = draw(st.sampled_from(DAMAGES))
    rows = [_row(i) for i in range(n)]
    line = rows[k].rstrip(b"\n")
    cut = draw(st.integers(0, len(line)))
    if kind == "quote_start":
        fields = line.split(b",")
        j = draw(st.integers(0, len(fields) - 1))
        fields[j] = b'"' + fields[j]
        line = b",".join(fields)
    elif kind == "quote_inside":
        line = line[:max(cut, 1)] + b'"' + line[max(cut, 1):]
    elif kind == "quote_after":
        line = line.replace(b",THEFT", b',"THEFT"x')
    elif kind == "bad_byte":
        line = line[:cut] + bytes([draw(st.integers(0x80, 0xFF))]) + line[cut:]
    elif kind == "nul":
        line = line[:cut] + b"\x00" + line[cut:]
    elif kind == "cr_in_quotes":
        line = line.replace(b",THEFT", b',"THE\rFT"')
    elif kind == "extra_field":
        line += b",EXTRA"
    elif kind == "missing_field":
        line = line.rsplit(b",", 1)[0]
    elif kind == "huge_value":
        line = line.replace(b",THEFT", b"," + b"H" * 70_000)
    elif kind == "date":
        d = draw(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)))
        line = _row(k, d.strftime("%Y-%m-%d %H:%M:%S").rjust(19, "0")).rstrip(b"\n")
    end = {"crlf": b"\r\n", "lone_cr": b"\r"}.get(kind, b"\n")
    if kind in ("crlf", "lone_cr") and k == n - 1:
        end = b"\n" if kind == "lone_cr" else end  # a lone CR at EOF is a line end anyway
    rows[k] = line + end
    return n, k, kind, HEADER + b"".join(rows)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(damaged_files())
def test_one_damaged_record_costs_at_most_that_record(tmp_path_factory, case):
    n, k, kind, data = case
    path = tmp_path_factory.mktemp("fuzz") / "damaged.csv"
    path.write_bytes(data)
    con = db.connect(":memory:")
    before = db_state(con)
    try:
        r = import_file(con, "calls", path, refresh=False)
    except CSOError:
        assert db_state(con) == before  # refused whole: nothing written
        raise AssertionError(f"{kind}: a single damaged record refused the whole file") from None
    loaded = {v for (v,) in con.execute("SELECT call_id FROM calls").fetchall()}
    undamaged = {f"F{i}" for i in range(n) if i != k}
    assert undamaged <= loaded, (kind, sorted(undamaged - loaded))
    assert {x.row for x in r.rejects} <= {k + 2}, (kind, [(x.row, x.reason) for x in r.rejects])
    assert r.rows_loaded + r.rows_rejected == r.rows_read == n
    for x in r.rejects:
        assert x.value is None or ("\x00" not in x.value and len(x.value) < 300)
    assert not con.execute("SELECT count(*) FROM calls WHERE contains(call_id, chr(0)) "
                           "OR contains(call_type, chr(0))").fetchall()[0][0]
    con.close()
