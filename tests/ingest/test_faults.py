"""Faults around an import (issue 17): SIGKILL at several moments, a file-size limit (a
full disk), a locked database, two importers at once. Each runs the real CLI in a
subprocess, bounded by a timeout; the database must always be exactly as before (or as
after the import that won) and the CLI must exit 2 with one line, never a traceback."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from analytics import db
from tests.ingest.conftest import db_state

ROOT = Path(__file__).resolve().parents[2]
N_ROWS = 60_000
CANONICAL = ("calls", "assignments", "units", "call_facts", "import_rejects")


def _csv(path: Path, n: int, prefix: str = "K") -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("call_id,received_at,arrived_at,priority,call_type,disposition\n")
        for i in range(n):
            day, minute = 1 + i % 28, i % 60
            fh.write(f"{prefix}{i},2024-03-{day:02d} 10:{minute:02d}:00,"
                     f"2024-03-{day:02d} 10:{minute:02d}:30,{1 + i % 4},T{i % 40},D{i % 7}\n")
    return path


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "analytics", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _state(path: Path, tables=CANONICAL) -> dict:
    con = db.connect(path, read_only=True)
    try:
        s = db_state(con)
    finally:
        con.close()
    return {k: v for k, v in s.items() if k in tables}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, Path, dict]:
    """A database holding one small import, a big CSV, and the state an uninterrupted
    import of the big CSV leaves."""
    d = tmp_path_factory.mktemp("faults")
    base = d / "base.duckdb"
    small, big = _csv(d / "small.csv", 500, "S"), _csv(d / "big.csv", N_ROWS)
    for args in (["import", "calls", str(small), "--db", str(base), "-q"],):
        p = _cli(*args)
        assert p.wait(120) == 0, p.stderr.read()
    ref = d / "ref.duckdb"
    ref.write_bytes(base.read_bytes())
    p = _cli("import", "calls", str(big), "--db", str(ref), "-q")
    assert p.wait(300) == 0, p.stderr.read()
    return base, big, _state(ref)


def _copy(base: Path, tmp_path: Path) -> Path:
    path = tmp_path / "cso.duckdb"
    path.write_bytes(base.read_bytes())
    return path


def _one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, stderr


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["reading and converting", "validating", "loading",
                                    "updating derived tables"])
def test_sigkill_mid_import_leaves_previous_state_and_reimport_equals_uninterrupted(
        base, tmp_path, moment):
    base_db, big, uninterrupted = base
    path = _copy(base_db, tmp_path)
    before, size_before = _state(path), path.stat().st_size
    p = _cli("import", "calls", str(big), "--db", str(path))
    seen = threading.Event()

    def watch() -> None:
        buf = b""
        while chunk := p.stderr.read(64):
            buf += chunk
            if moment.encode() in buf:
                seen.set()
                return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    assert seen.wait(120), f"the import never reported {moment!r}"
    os.kill(p.pid, signal.SIGKILL)
    p.wait(30)
    if moment == "updating derived tables":
        # The transaction may commit between that message and the signal: all or nothing.
        assert _state(path) in (before, uninterrupted)
    else:
        assert _state(path) == before
    # The next read-write opening gives back what the killed transaction wrote.
    db.connect(path).close()
    assert path.stat().st_size <= size_before + db.RECLAIM_SLACK_BYTES
    q = _cli("import", "calls", str(big), "--db", str(path), "-q")
    assert q.wait(300) == 0, q.stderr.read()
    assert _state(path) == uninterrupted


def test_file_size_limit_exits_2_with_one_line_and_changes_nothing(base, tmp_path):
    base_db, big, _ = base
    path = _copy(base_db, tmp_path)
    before = _state(path)
    limit = path.stat().st_size + (1 << 20)  # the database may grow by 1 MB only

    def limit_fsize() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    p = _cli("import", "calls", str(big), "--db", str(path), "-q", preexec_fn=limit_fsize)
    assert p.wait(300) == 2
    err = p.stderr.read().decode()
    _one_line_error(err)
    assert "file size limit" in err or "disk is full" in err
    assert _state(path) == before


def test_import_into_a_locked_database_exits_2_with_one_line(base, tmp_path):
    base_db, big, _ = base
    path = _copy(base_db, tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, duckdb, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True);"
        " time.sleep(60)"), str(path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"open"
        p = _cli("import", "calls", str(big), "--db", str(path), "-q")
        assert p.wait(120) == 2
        err = p.stderr.read().decode()
        _one_line_error(err)
        assert "in use by another program" in err
        i = _cli("info", "--db", str(path))
        assert i.wait(120) == 2
        _one_line_error(i.stderr.read().decode())
    finally:
        holder.kill()
        holder.wait(30)


def test_two_importers_at_once(base, tmp_path):
    base_db, big, uninterrupted = base
    path = _copy(base_db, tmp_path)
    procs = [_cli("import", "calls", str(big), "--db", str(path), "-q") for _ in range(2)]
    codes = [p.wait(300) for p in procs]
    errs = [p.stderr.read().decode() for p in procs]
    assert sorted(codes) in ([0, 0], [0, 2]), (codes, errs)
    for c, e in zip(codes, errs, strict=True):
        if c == 2:
            _one_line_error(e)
            assert "in use by another program" in e
    # Whoever won, the calls are the uninterrupted import's (a second identical file adds
    # nothing); no key is duplicated.
    assert {k: v for k, v in _state(path).items() if k != "import_rejects"} == \
        {k: v for k, v in uninterrupted.items() if k != "import_rejects"}
    con = db.connect(path, read_only=True)
    try:
        assert db.duplicate_keys(con, "calls") == 0
    finally:
        con.close()
