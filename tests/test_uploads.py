"""Uploads (issue 17): a private folder next to the database, a size bound checked before
anything is copied, deleted after the import and when the session ends."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui import uploads


def _script(db_file: str, size_mb: int, action: str) -> None:
    import io
    from pathlib import Path

    import streamlit as st

    from ui import uploads

    class Upload(io.BytesIO):  # what st.file_uploader returns, minus the widget
        def __init__(self, data: bytes, name: str) -> None:
            super().__init__(data)
            self.name, self.size, self.file_id = name, len(data), "fid-1"

    data = b"call_id,received_at\n" + b"A,2024-01-01 10:00:00\n" * (size_mb * 50_000)
    try:
        path = uploads.save(Upload(data, "../../etc/cad export.csv"), Path(db_file))
    except uploads.UploadTooLarge as exc:
        st.write(f"refused: {exc}")
        return
    st.write(f"saved: {path}")
    st.write(f"same: {path.read_bytes() == data}")
    if action == "discard":
        uploads.discard(path)
    elif action == "end":
        uploads.end_session()


def _run(tmp_path: Path, size_mb: int, action: str, limit_mb: int = 200) -> list[str]:
    at = AppTest.from_function(_script, args=(str(tmp_path / "cso.duckdb"), size_mb, action))
    at.run()
    return [m.value for m in at.markdown]


def test_upload_is_saved_privately_next_to_the_database(tmp_path):
    out = _run(tmp_path, 1, "keep")
    saved = Path(out[0].removeprefix("saved: "))
    assert out[1] == "same: True"
    root = tmp_path / "uploads"
    assert saved.is_relative_to(root) and saved.name == "cad export.csv"  # no ../ escape
    for folder in (root, saved.parent.parent, saved.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_upload_is_deleted_after_the_import_and_at_session_end(tmp_path):
    saved = Path(_run(tmp_path, 1, "discard")[0].removeprefix("saved: "))
    assert not saved.exists()
    saved = Path(_run(tmp_path, 1, "end")[0].removeprefix("saved: "))
    assert not saved.parent.parent.exists()


def test_upload_over_the_bound_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "max_upload_bytes", lambda: 1 << 20)
    out = _run(tmp_path, 2, "keep")
    assert out[0].startswith("refused: ") and "accepts uploads up to 1 MB" in out[0]
    assert not any((tmp_path / "uploads").rglob("*.csv"))


def test_sweep_removes_folders_of_sessions_a_dead_server_left(tmp_path):
    root = tmp_path / "uploads"
    old, new = root / "old", root / "new"
    old.mkdir(parents=True)
    new.mkdir()
    past = time.time() - uploads.STALE_SECONDS - 60
    os.utime(old, (past, past))
    assert uploads.sweep(root) == 1
    assert not old.exists() and new.exists()


def test_messages_for_the_browser_hide_server_paths(tmp_path):
    path = tmp_path / "uploads" / "abc" / "f1" / "x.csv"
    exc = Exception(f'file {path}: Error when sniffing file "{path}"; db in {tmp_path}')
    msg = uploads.public_message(exc, path, "x.csv", tmp_path / "cso.duckdb")
    assert str(tmp_path) not in msg and "file x.csv" in msg


def _memory_script(db_file: str, mb: int, rounds: int) -> None:
    import io
    import tracemalloc
    from pathlib import Path

    import streamlit as st

    from ui import uploads

    class Upload(io.BytesIO):
        def __init__(self, data: bytes, name: str, fid: str) -> None:
            super().__init__(data)
            self.name, self.size, self.file_id = name, len(data), fid

    data = b"x" * (mb << 20)  # the upload as Streamlit holds it (before measuring)
    ups = [Upload(data, "big.csv", f"fid-{i}") for i in range(rounds)]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for up in ups:
        path = uploads.save(up, Path(db_file))
        uploads.discard(path)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    st.write(f"growth {current - base} peak {peak - base}")


def test_repeated_uploads_are_copied_in_chunks_and_leave_no_memory_behind(tmp_path):
    # 5 uploads of 40 MB: copying holds at most two 8 MB chunks at a time (measured peak
    # 16.8 MB; getvalue() would hold a second 40 MB copy), and nothing stays allocated
    # after each import's discard.
    at = AppTest.from_function(_memory_script, args=(str(tmp_path / "cso.duckdb"), 40, 5))
    at.run()
    growth, peak = (int(x) for x in at.markdown[0].value.split()[1::2])
    assert peak < 2 * uploads.CHUNK_BYTES + (4 << 20) < 40 << 20
    assert growth < 4 << 20  # a leaked copy would be 40 MB per upload
    assert not any((tmp_path / "uploads").rglob("big.csv"))
