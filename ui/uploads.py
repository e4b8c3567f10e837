"""Uploaded files on their way into the importer: private folder, size bound, clean-up.

An upload is copied in chunks from Streamlit's upload buffer into
``uploads/<session-token>/`` next to the database, a folder only the server's user can
open (mode 0700; the ``uploads`` folder too). The copy is deleted when its import has
run (:func:`discard`), when the browser session ends (a finaliser on an object kept in
the session's state), and at the latest by :func:`sweep` a day later (a server that was
killed cannot run finalisers). The size bound is Streamlit's ``server.maxUploadSize``
(megabytes, set in ``.streamlit/config.toml``): the server refuses a larger request
while it streams in, and :func:`save` checks it again before copying anything.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
import weakref
from pathlib import Path
from typing import Any

import streamlit as st

log = logging.getLogger(__name__)

KEY_FOLDER = "cso_upload_folder"
CHUNK_BYTES = 8 << 20
STALE_SECONDS = 24 * 3600


class UploadTooLarge(Exception):
    """The upload exceeds ``server.maxUploadSize``."""


def max_upload_bytes() -> int:
    """The configured upload bound in bytes (``server.maxUploadSize`` megabytes)."""
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def uploads_root(db_file: Path) -> Path:
    """``uploads/`` next to the database, created private (0700) if missing."""
    root = Path(db_file).resolve().parent / "uploads"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)  # mkdir's mode is masked by the umask; an old folder may be wider
    return root


class _SessionFolder:
    """Owns one session's upload folder; removes it when the session is garbage-collected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(path), True)

    def remove(self) -> None:
        self._finalizer()


def _session_folder(db_file: Path) -> Path:
    holder = st.session_state.get(KEY_FOLDER)
    if not isinstance(holder, _SessionFolder) or not holder.path.parent.exists():
        root = uploads_root(db_file)
        sweep(root)
        path = root / secrets.token_hex(8)
        holder = _SessionFolder(path)
        st.session_state[KEY_FOLDER] = holder
    holder.path.mkdir(mode=0o700, exist_ok=True)
    return holder.path


def save(upload: Any, db_file: Path) -> Path:
    """Copy an ``UploadedFile`` into this session's private folder, keeping its base name.

    Raises :class:`UploadTooLarge` when it exceeds the configured bound (nothing written).
    The same upload is copied once per session (its ``file_id`` names a subfolder).
    """
    limit = max_upload_bytes()
    if upload.size > limit:
        raise UploadTooLarge(
            f"{upload.name} is {upload.size / 1e6:,.1f} MB; this server accepts uploads up to "
            f"{limit / 1e6:,.0f} MB (server.maxUploadSize). Import a larger file with the "
            "command line: python -m analytics import TABLE FILE")
    folder = _session_folder(db_file) / _safe(str(upload.file_id))
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / (_safe(Path(upload.name).name) or "upload")
    if path.exists() and path.stat().st_size == upload.size:
        return path
    tmp = path.with_name(path.name + ".part")
    upload.seek(0)
    with open(tmp, "wb") as out:
        shutil.copyfileobj(upload, out, CHUNK_BYTES)
    os.replace(tmp, path)
    upload.seek(0)
    return path


def discard(path: Path) -> None:
    """Delete one saved upload (after its import ran, successfully or not)."""
    try:
        shutil.rmtree(path.parent, ignore_errors=True)
    except OSError:  # pragma: no cover - rmtree ignores errors
        pass


def end_session() -> None:
    """Delete every upload of this session now (also done when the session ends)."""
    holder = st.session_state.pop(KEY_FOLDER, None)
    if isinstance(holder, _SessionFolder):
        holder.remove()


def sweep(root: Path, older_than: float = STALE_SECONDS) -> int:
    """Remove session folders not touched for ``older_than`` seconds; returns how many."""
    n = 0
    now = time.time()
    for child in root.iterdir() if root.exists() else ():
        try:
            if child.is_dir() and now - child.stat().st_mtime > older_than:
                shutil.rmtree(child, ignore_errors=True)
                n += 1
        except OSError:
            continue
    return n


def public_message(exc: BaseException, path: Path | None, name: str | None,
                   db_file: Path | None = None) -> str:
    """An error's text for a browser: the upload's server path replaced by its name, the
    data folder by "the data folder", cut to 600 characters."""
    text = str(exc)
    if path is not None:
        for p in (str(path), str(Path(path).resolve())):
            text = text.replace(p, name or Path(path).name)
    if db_file is not None:
        for p in (str(Path(db_file).resolve().parent), str(Path(db_file).parent)):
            if p not in ("", "."):
                text = text.replace(p, "the data folder")
    import tempfile

    text = text.replace(tempfile.gettempdir(), "the temporary folder")
    return text if len(text) <= 600 else text[:600] + " …"


def _safe(name: str) -> str:
    """A file or folder name without path separators or leading dots."""
    keep = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in name).strip()
    return keep.lstrip(".")[:120]
