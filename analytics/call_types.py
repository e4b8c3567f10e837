"""The call-type crosswalk: read, edit as a new version, history, CSV export/import.

``call_types`` maps each call type to a category, a CSO tier (``cso_only``,
``cso_with_backup``, ``co_response``, ``sworn_only``) and a ``sensitive`` flag. Every save
that changes something is a new *version*: version = previous maximum + 1, and one
``call_type_history`` row per changed field (who, when, old and new value). The save, the
history rows and the rebuild of ``call_facts`` run in one transaction, so metrics always
follow the current version and a failed save changes nothing.

Rows are never deleted by an edit (calls would silently become unmapped); call types seen
in the calls but missing from the crosswalk are offered with an empty tier so they can be
mapped.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from analytics import db, engines, facts
from analytics.errors import InputDataError

log = logging.getLogger(__name__)

COLUMNS = ("call_type", "description", "category", "cso_tier", "sensitive")
EDITABLE = ("description", "category", "cso_tier", "sensitive")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def crosswalk(con: Any, *, include_unmapped: bool = False) -> pd.DataFrame:
    """The current crosswalk (columns: call_type, description, category, cso_tier,
    sensitive, calls), sorted by call type.

    ``calls`` = calls of that type in the database. With ``include_unmapped``, call types
    present in the calls but missing from the crosswalk are added with an empty tier.
    """
    b = engines.as_backend(con)
    calls, ct = b.table("calls"), b.table("call_types")
    typed = calls.filter(calls.call_type.notnull())
    n = typed.group_by("call_type").aggregate(calls=typed.count())
    j = ct.left_join(n, "call_type")
    expr = j.select(ct.call_type, ct.description, ct.category, ct.cso_tier, ct.sensitive,
                    calls=n.calls.fill_null(0))
    if include_unmapped:
        unmapped = n.anti_join(ct, "call_type")
        expr = expr.union(unmapped.select(
            "call_type", **{c: ibis.null().cast(ct[c].type()) for c in COLUMNS[1:]},
            calls=unmapped.calls))
    df = engines.execute(b, expr.order_by("call_type"))[0]
    df["sensitive"] = df["sensitive"].astype("boolean")
    df["calls"] = df["calls"].astype("int64")
    return df.reset_index(drop=True)


def history(con: Any) -> pd.DataFrame:
    """Every recorded change, newest first: version, changed_at, changed_by, call_type,
    field, old_value, new_value."""
    h = engines.as_backend(con).table("call_type_history")
    expr = (h.select("version", "changed_at", "changed_by", "call_type", "field", "old_value",
                     "new_value").order_by([h.version.desc(), "call_type", "field"]))
    return engines.execute(engines.backend_of(expr), expr)[0]


def current_version(con: Any) -> int:
    """The latest crosswalk version (0 before any edit)."""
    h = engines.as_backend(con).table("call_type_history")
    got = engines.execute(engines.backend_of(h), h.aggregate(v=h.version.max()))[0]
    v = got["v"].iloc[0]
    return 0 if pd.isna(v) else int(v)


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return None
    s = str(v).strip()
    return s or None


def _bool(v: Any, *, file: str, row: int) -> bool:
    if isinstance(v, bool):
        return v
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return False
    if hasattr(v, "item") and isinstance(v.item(), bool):  # numpy bool
        return bool(v.item())
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise InputDataError(
        f"sensitive must be true or false (also yes/no, 1/0); got {v!r}",
        file=file, row=row, column="sensitive",
    )


def validate(df: pd.DataFrame, *, file: str = "crosswalk edit", header_rows: int = 0,
             allow_blank_tier: bool = True) -> pd.DataFrame:
    """Check and normalise a crosswalk frame; return it with clean types.

    Raises :class:`InputDataError` naming the file, the row (1-based; ``header_rows`` is
    added so CSV row numbers match the file) and the column. Rows with an empty call type
    are errors; rows with an empty tier are dropped when ``allow_blank_tier`` (unmapped
    call types left unmapped), else errors.
    """
    missing = [c for c in ("call_type", "cso_tier") if c not in df.columns]
    if missing:
        raise InputDataError(f"missing column(s): {', '.join(missing)}; expected "
                             f"{', '.join(COLUMNS)}", file=file, column=missing[0])
    rows = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(df.to_dict("records")):
        row = i + 1 + header_rows
        ct = _text(rec.get("call_type"))
        if ct is None:
            raise InputDataError("call type is empty", file=file, row=row, column="call_type")
        if ct in seen:
            raise InputDataError(f"call type {ct!r} appears twice (also row {seen[ct]})",
                                 file=file, row=row, column="call_type")
        seen[ct] = row
        tier = _text(rec.get("cso_tier"))
        if tier is None:
            if allow_blank_tier:
                continue
            raise InputDataError(f"CSO tier is empty for {ct!r}; one of "
                                 f"{', '.join(db.CSO_TIERS)}", file=file, row=row,
                                 column="cso_tier")
        if tier not in db.CSO_TIERS:
            raise InputDataError(f"CSO tier {tier!r} for {ct!r} is not one of "
                                 f"{', '.join(db.CSO_TIERS)}", file=file, row=row,
                                 column="cso_tier")
        rows.append({
            "call_type": ct,
            "description": _text(rec.get("description")),
            "category": _text(rec.get("category")),
            "cso_tier": tier,
            "sensitive": _bool(rec.get("sensitive"), file=file, row=row),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)


def _as_str(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _clean(v: Any, field: str) -> Any:
    if field == "sensitive":
        return None if v is None or v is pd.NA or v != v else bool(v)
    return _text(v)


def diff(con: Any, new: pd.DataFrame) -> pd.DataFrame:
    """Changes a validated crosswalk would make: call_type, field, old_value, new_value.

    New call types give one row per non-empty field (old value NULL). Call types missing
    from ``new`` are left as they are.
    """
    cur = crosswalk(con)
    old = {r["call_type"]: r for r in cur.to_dict("records")}
    out = []
    for r in new.to_dict("records"):
        before = old.get(r["call_type"])
        for f in EDITABLE:
            nv = _clean(r[f], f)
            ov = None if before is None else _clean(before[f], f)
            if before is None and nv is None:
                continue
            if before is None or ov != nv:
                out.append((r["call_type"], f, _as_str(ov), _as_str(nv)))
    return pd.DataFrame(out, columns=["call_type", "field", "old_value", "new_value"])


def save(con: Any, edited: pd.DataFrame, changed_by: str, *, file: str = "crosswalk edit",
         header_rows: int = 0) -> int | None:
    """Save an edited crosswalk as a new version; return it (None when nothing changed).

    Validates first (named errors, nothing written on failure), then in one transaction:
    upserts the changed call types, writes one history row per changed field with
    version = max + 1, and rebuilds ``call_facts`` so every metric follows the new version.
    """
    who = (changed_by or "").strip()
    if not who:
        raise InputDataError("say who is making the change", file=file, column="changed_by")
    new = validate(edited, file=file, header_rows=header_rows)
    changes = diff(con, new)
    if changes.empty:
        return None
    changed_types = set(changes["call_type"])
    version = current_version(con) + 1
    now = dt.datetime.now().replace(microsecond=0)
    with db.transaction(con):
        for r in new[new["call_type"].isin(changed_types)].to_dict("records"):
            con.execute(
                "INSERT OR REPLACE INTO call_types (call_type, description, category, "
                "cso_tier, sensitive) VALUES (?, ?, ?, ?, ?)",
                [r["call_type"], r["description"], r["category"], r["cso_tier"],
                 bool(r["sensitive"])],
            )
        con.executemany(
            "INSERT INTO call_type_history (version, changed_at, changed_by, call_type, "
            "field, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(version, now, who, r.call_type, r.field, r.old_value, r.new_value)
             for r in changes.itertuples()],
        )
        facts.refresh_derived(con)
    log.info("crosswalk version %d saved by %s: %d field change(s)", version, who,
             len(changes))
    return version


def to_csv(con: Any) -> bytes:
    """The current crosswalk as CSV bytes (columns call_type … sensitive)."""
    return crosswalk(con)[list(COLUMNS)].to_csv(index=False).encode("utf-8")


def read_csv(data: bytes | str | Path, *, file: str | None = None) -> pd.DataFrame:
    """Parse and validate a crosswalk CSV (header row = row 1, so data starts at row 2)."""
    name = file or (str(data) if isinstance(data, (str, Path)) else "uploaded CSV")
    try:
        if isinstance(data, bytes):
            df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        else:
            df = pd.read_csv(data, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(f"not a readable CSV: {exc}", file=name) from exc
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("call_type", "cso_tier") if c not in df.columns]
    if missing:
        raise InputDataError(f"missing column {missing[0]!r} in the header; expected "
                             f"{', '.join(COLUMNS)}", file=name, row=1, column=missing[0])
    unknown = [c for c in df.columns if c not in COLUMNS and c != "calls"]
    if unknown:
        raise InputDataError(f"unknown column {unknown[0]!r}; expected "
                             f"{', '.join(COLUMNS)}", file=name, row=1, column=unknown[0])
    return validate(df, file=name, header_rows=1, allow_blank_tier=False)


def import_csv(con: Any, data: bytes | str | Path, changed_by: str, *,
               file: str | None = None) -> int | None:
    """Validate a crosswalk CSV and save it as a new version (None when nothing changed)."""
    name = file or (str(data) if isinstance(data, (str, Path)) else "uploaded CSV")
    df = read_csv(data, file=name)
    return save(con, df, changed_by, file=name, header_rows=1)
