"""The command line and a running analyst app share one database file (issue 17).

The app holds the file read-only at rest, so `info` works while it runs; a CLI write gets
a clear one-line message; the app takes the write lock only for a write, after the other
page runs have finished, and gives it back (then the CLI can read again)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from analytics.errors import DatabaseError
from tests.pages.conftest import assert_clean

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def running(run_page, demo_db_path, tmp_path):
    path = tmp_path / "shared.duckdb"
    shutil.copyfile(demo_db_path, path)
    at = run_page(db_path=path)  # the Overview has rendered: the app holds the file
    assert_clean(at)
    return path


def test_cli_reads_while_the_app_runs_and_a_cli_write_is_told_to_wait(running, tmp_path):
    info = _cli("info", "--db", str(running))
    assert info.returncode == 0, info.stderr
    assert "calls" in info.stdout
    csv = tmp_path / "late.csv"
    csv.write_text("call_id,received_at\nLATE1,2024-06-01 10:00:00\n", encoding="utf-8")
    imp = _cli("import", "calls", str(csv), "--db", str(running), "-q")
    assert imp.returncode == 2
    assert "Traceback" not in imp.stderr
    assert "in use by another program" in imp.stderr


def test_app_write_takes_the_lock_only_for_the_write(running, tmp_path):
    from ui import state

    server = state._server(str(running))
    with server.writing() as con:
        con.execute("INSERT INTO settings VALUES ('sharing_test', 'x')")
        during = _cli("info", "--db", str(running))
    after = _cli("info", "--db", str(running))
    assert during.returncode == 2 and "in use by another program" in during.stderr
    assert after.returncode == 0, after.stderr
    gen, ro = server.connection()
    assert ro.execute("SELECT value FROM settings WHERE key = 'sharing_test'").fetchall() == \
        [("x",)]


def test_a_write_waits_for_other_page_runs_and_new_runs_wait_for_it(running, monkeypatch):
    from ui import state

    server = state._server(str(running))
    monkeypatch.setattr(state, "WRITE_WAIT_S", 10.0)
    events: list[str] = []
    reader_in, release_reader = threading.Event(), threading.Event()

    def page_run() -> None:  # another visitor's page, mid-query
        with server.reading():
            reader_in.set()
            release_reader.wait(10)
            events.append("reader done")

    t = threading.Thread(target=page_run)
    t.start()
    assert reader_in.wait(10)
    threading.Timer(0.5, release_reader.set).start()
    with server.writing(wait_s=10) as con:
        events.append("writing")
        con.execute("SELECT 1").fetchall()
    t.join(10)
    assert events == ["reader done", "writing"]


def test_a_write_gives_up_with_a_message_when_a_page_run_does_not_finish(running):
    from ui import state

    server = state._server(str(running))
    reader_in, release_reader = threading.Event(), threading.Event()

    def page_run() -> None:
        with server.reading():
            reader_in.set()
            release_reader.wait(20)

    t = threading.Thread(target=page_run)
    t.start()
    assert reader_in.wait(10)
    t0 = time.monotonic()
    try:
        with pytest.raises(DatabaseError, match="still loading"):
            with server.writing(wait_s=1.0):
                pass
        assert time.monotonic() - t0 < 10
    finally:
        release_reader.set()
        t.join(20)
    # Nothing was switched: the page's reads go on.
    assert server.connection()[1].execute("SELECT count(*) FROM calls").fetchall()[0][0] > 0
