"""call_facts' row order: sorted by received_at unless calls are in time order already.

Row groups are shrunk to 2 rows so that a dozen calls make six of them; the spans below
are worked out by hand from the inserted hours.
"""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import db, facts

T0 = dt.datetime(2024, 5, 1)

# Hours after T0. Sorted: groups (0,1) (2,3) (4,5) (95,96) (97,98) (99,100) span 1 h each,
# 6 h in all, against 100 h for the whole range: in time order (6 <= 4 x 100).
IN_ORDER = (0, 1, 2, 3, 4, 5, 95, 96, 97, 98, 99, 100)
# Interleaved: groups (0,100) (1,99) (2,98) (3,97) (4,96) (5,95) span 100+98+96+94+92+90
# = 570 h > 4 x 100 h: not in time order.
INTERLEAVED = (0, 100, 1, 99, 2, 98, 3, 97, 4, 96, 5, 95)


def _con(hours: tuple[int, ...]):
    con = db.connect(":memory:")
    con.execute("INSERT INTO units VALUES ('S1','sworn','D1'), ('C1','cso','D1')")
    for i, h in enumerate(hours):
        at = T0 + dt.timedelta(hours=h)
        con.execute("INSERT INTO calls (call_id, received_at, dispatched_at, arrived_at, "
                    "cleared_at, call_type, priority, self_initiated, district, beat) "
                    "VALUES (?, ?, ?, ?, ?, 'THEFT', 1 + ? % 4, false, 'D1', 'B1')",
                    [f"c{i:02d}", at, at + dt.timedelta(minutes=5),
                     at + dt.timedelta(minutes=12), at + dt.timedelta(minutes=40), i])
        con.execute("INSERT INTO assignments VALUES (?, ?, ?, NULL, ?, ?, true)",
                    [f"c{i:02d}", "C1" if i % 3 == 0 else "S1", at + dt.timedelta(minutes=5),
                     at + dt.timedelta(minutes=12), at + dt.timedelta(minutes=40)])
    return con


@pytest.fixture()
def small_groups(monkeypatch):
    monkeypatch.setattr(facts, "ROW_GROUP_ROWS", 2)


def test_time_order_detected_from_row_group_spans(small_groups) -> None:
    assert facts.calls_in_time_order(_con(IN_ORDER))
    assert not facts.calls_in_time_order(_con(INTERLEAVED))


def test_one_row_group_is_sorted_anyway() -> None:
    # 12 calls fill one row group of DuckDB's real size: sorting it costs nothing.
    assert not facts.calls_in_time_order(_con(IN_ORDER))


@pytest.mark.parametrize("hours", [IN_ORDER, INTERLEAVED])
def test_rows_follow_received_at_either_way(small_groups, hours) -> None:
    con = _con(hours)
    facts.build_call_facts(con)
    got = [r[0] for r in con.execute("SELECT received_at FROM call_facts ORDER BY rowid").fetchall()]
    assert got == [T0 + dt.timedelta(hours=h) for h in sorted(hours)]


def test_unsorted_build_has_the_sorted_build_rows(small_groups, monkeypatch) -> None:
    con = _con(IN_ORDER)
    with db.unordered_writes(con):  # as inside an import: the rows keep calls' order still
        facts.build_call_facts(con)
        # the setting of the caller is back after the build
        assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is False
    in_calls_order = con.execute("SELECT * FROM call_facts ORDER BY rowid").fetchall()
    monkeypatch.setattr(facts, "calls_in_time_order", lambda c: False)
    facts.build_call_facts(con)
    assert con.execute("SELECT * FROM call_facts ORDER BY rowid").fetchall() == in_calls_order
    assert len(in_calls_order) == len(IN_ORDER)
