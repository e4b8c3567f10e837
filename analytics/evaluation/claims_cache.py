"""The programme claims' answers, kept in the database until the data or the code changes.

Answering the four claims (:func:`analytics.evaluation.claims.answer_claims`) builds four
area × month panels over every call and incident: seconds on 10 million calls, on every
first visit of the Evaluation page. The answers depend only on the data, the date range
and this program's code, so they are stored in table ``claims_cache`` under

- a **data version**: the latest import id, the row counts of ``calls``, ``incidents``
  and ``call_facts``, and an order-independent hash of every row of ``deployments``,
  ``call_types`` and ``areas`` (every change to the data goes through an import, which
  adds an ``imports`` row, or edits one of those small tables; the counts catch a demo
  build or a rebuilt derived table). Computed on every read: a few milliseconds.
- a **code version**: a hash of the source of the ``analytics`` package, so an upgrade
  (a changed estimator or definition) never shows answers an older version computed.

**Writers compute them, visitors read them** (issue 16): every writer stores the answers
for the default view (the whole date range) and for the sidebar's one-click periods
("1 year", "YTD": :func:`preset_dates`) as its last step — the end of an import
(``python -m analytics import``, and every write of the app's Data page, target or
call-type forms through ``ui.state.writing``: :func:`refresh_stored`), the end of a demo
build, and ``python -m analytics claims`` — so the first visit of the Evaluation page
reads them (milliseconds) instead of computing them (seconds on 10 million calls).

On reading, a changed data or code version misses the store. A connection that can
write then computes and stores again, replacing the stale rows. A **read-only**
connection (a command or public server, or the analyst server at rest) does not compute
the default view on a visitor's render when it holds stored answers of an earlier data
or code version: it shows those, each marked with ``stale_note`` (when they were computed
and how to refresh them: any import, or ``python -m analytics claims``). Only with no
stored answers at all, or for another date range than the stored one, does a read-only
connection compute (without storing). Stored answers are plain text (verdict, sentence),
never pickled objects.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd

from analytics import db, engines
from analytics.core.results import Result
from analytics.evaluation import wording
from analytics.evaluation.claims import answer_claims, negative_control
from analytics.filters import Filters

log = logging.getLogger(__name__)

TABLE = "claims_cache"
# Writes stay SQL (DDL, delete, insert: Ibis does not write rows); reads are Ibis. The only
# identifier in this SQL is the constant TABLE, quoted; every value is a bound parameter.
_Q = f'"{TABLE}"'
_DDL = (f"CREATE TABLE IF NOT EXISTS {_Q} (code_version VARCHAR NOT NULL, "
        "data_version VARCHAR NOT NULL, filters VARCHAR NOT NULL, payload VARCHAR NOT NULL, "
        "computed_at TIMESTAMP NOT NULL DEFAULT now()::TIMESTAMP)")


#: Version of the stored payload's shape (part of the code version): 2 = claims with
#: inference fields (level, method, clusters, smallest p, Holm-adjusted p), placebo and
#: warnings, plus the standing checks; 4 = Westfall–Young adjusted p with Holm's beside it
#: (``p_holm``) and the family note.
PAYLOAD_VERSION = 4


@functools.cache
def code_version() -> str:
    """sha256 of :data:`PAYLOAD_VERSION` and every ``analytics/**/*.py`` file (path and
    bytes), computed once."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(f"payload {PAYLOAD_VERSION}".encode())
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def data_version(con: Any) -> str:
    """A fingerprint of what the claims read (see the module docstring), one Ibis query."""
    b = engines.as_backend(con)

    def row_hash_sum(name: str) -> Any:  # order-independent: a sum of per-row hashes
        t = b.table(name)
        return t.aggregate(**{name: ibis.struct({c: t[c] for c in t.columns}).hash().sum()
                              .fill_null(0).cast("string")})  # exact: no float in between

    imports, calls, incidents, cf = (b.table(n) for n in ("imports", "calls", "incidents",
                                                           "call_facts"))
    parts = [imports.aggregate(imports=imports.import_id.max().fill_null(0).cast("string")),
             calls.aggregate(calls=calls.count().cast("string")),
             incidents.aggregate(incidents=incidents.count().cast("string")),
             cf.aggregate(call_facts=cf.count().cast("string")),
             *(row_hash_sum(n) for n in ("deployments", "call_types", "areas"))]
    expr = parts[0]
    for part in parts[1:]:
        expr = expr.cross_join(part)
    got = engines.execute(b, expr)[0]
    return "-".join(str(got[c].iloc[0]) for c in got.columns)


def _filters_key(filters: Filters) -> str:
    return f"{filters.start}..{filters.end}"


def _estimate_dict(e: Any) -> dict[str, Any]:
    if e is None:
        return {}
    def num(x: Any) -> float | None:
        return None if x is None or not math.isfinite(float(x)) else float(x)
    return {"scale": e.scale, "estimate": num(e.estimate), "ci_low": num(e.ci_low),
            "ci_high": num(e.ci_high), "p_value": num(e.p_value),
            "p_adjusted": num(e.p_adjusted), "adjustment": e.adjustment,
            "cluster_level": e.cluster_level, "n_clusters": e.n_clusters,
            "inference_method": e.inference_method,
            "min_attainable_p": num(e.min_attainable_p), "method": e.method,
            "p_holm": num(e.detail("p_holm"))}


#: Answers a read-only connection computed (it cannot store them), per database file
#: version (:func:`~analytics.engines.read_only_file_key`), code, data and date range: the
#: page asks for the claims and for the checks, which come from one computation.
_COMPUTED: OrderedDict[tuple, dict[str, list]] = OrderedDict()
_COMPUTED_MAX = 16


def _payload(con: duckdb.DuckDBPyConnection, filters: Filters | None) -> dict[str, list]:
    dates = Filters(start=(filters or Filters()).start, end=(filters or Filters()).end)
    code, data, fkey = code_version(), data_version(con), _filters_key(dates)
    stored = _read(con, code, data, fkey)
    if stored is not None:
        return stored
    memo = None
    if _read_only(con):
        old = _read_stale(con, fkey)
        if old is not None:
            return old
        file_key = engines.read_only_file_key(engines.as_backend(con))
        memo = None if file_key is None else (file_key, code, data, fkey)
        if memo in _COMPUTED:
            return copy.deepcopy(_COMPUTED[memo])
    out = _compute(con, dates)
    if memo is not None:
        _COMPUTED[memo] = copy.deepcopy(out)
        while len(_COMPUTED) > _COMPUTED_MAX:
            _COMPUTED.popitem(last=False)
    _write(con, code, data, fkey, out)
    return out


def _compute(con: duckdb.DuckDBPyConnection, dates: Filters) -> dict[str, list]:
    results = answer_claims(con, filters=dates)
    n_answered = sum(r.estimate is not None for r in results)
    claims = [{"key": r.claim.key, "question": r.claim.question, "metric": r.claim.metric,
               "verdict": r.verdict, "sentence": r.sentence, "note": r.claim.note,
               **_estimate_dict(r.estimate), "warnings": list(r.caveats),
               **_inference_text(r),
               "family_note": (wording.family_note(r.estimate, n_answered)
                               if r.estimate is not None and r.estimate.adjustment else ""),
               "placebo": None if r.placebo is None else {
                   "sentence": r.placebo.sentence, "significant": r.placebo.significant,
                   **_estimate_dict(r.placebo.estimate)}}
              for r in results]
    nc = negative_control(con, filters=dates)
    checks = [{"key": nc.key, "label": nc.label, "sentence": nc.sentence,
               "significant": nc.significant, **_estimate_dict(nc.estimate)}]
    return {"claims": claims, "checks": checks}


def _read_only(con: duckdb.DuckDBPyConnection) -> bool:
    return db.is_read_only(con)


STALE_NOTE = ("These answers were computed on {when} UTC, before the latest change to the "
              "data or an upgrade of the program; the server does not recompute them while "
              "a visitor waits. Any import, or `python -m analytics claims`, brings them up "
              "to date.")


def _read_stale(con: duckdb.DuckDBPyConnection, fkey: str) -> dict | None:
    """The newest stored answers for ``fkey`` whatever their versions, each claim and check
    marked with ``stale_note``; None when nothing is stored."""
    b = engines.as_backend(con)
    if not engines.has_table(b, TABLE):
        return None
    t = b.table(TABLE)
    got = engines.execute(b, t.filter(t.filters == fkey).select("payload", "computed_at")
                          .order_by(t.computed_at.desc()).limit(1))[0]
    if got.empty:
        return None
    out = json.loads(str(got["payload"].iloc[0]))
    note = STALE_NOTE.format(when=f"{pd.Timestamp(got['computed_at'].iloc[0]):%d %b %Y %H:%M}")
    for item in (*out.get("claims", ()), *out.get("checks", ())):
        item["stale_note"] = note
    return out


def is_current(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> bool:
    """True when answers for ``filters``' dates (default: the whole range) are stored under
    the current data and code versions."""
    dates = Filters(start=(filters or Filters()).start, end=(filters or Filters()).end)
    return _read(con, code_version(), data_version(con), _filters_key(dates)) is not None


def preset_dates(con: Any) -> tuple[Filters, ...]:
    """The sidebar's one-click periods other than all data ("1 year", "YTD": rules in
    :mod:`analytics.core.periods`) as the date filters the page passes, over the data's
    date span (:func:`analytics.catalog.filter_options`); empty without calls."""
    from analytics import catalog
    from analytics.core import periods

    opts = catalog.filter_options(engines.as_backend(con))
    lo, hi = opts.min_date, opts.max_date
    if lo is None or hi is None:
        return ()
    out: list[Filters] = []
    for span in (periods.last_12_months(lo, hi), periods.year_to_date(lo, hi)):
        f = Filters.for_span(*span, data_min=lo, data_max=hi)
        if f != Filters() and f not in out:
            out.append(f)
    return tuple(out)


def store_claims(con: duckdb.DuckDBPyConnection) -> float | None:
    """Compute and store the answers of the default view (the whole date range) and of the
    sidebar's one-click periods (:func:`preset_dates`) on a read-write connection,
    replacing older ones; return the seconds it took, or None when the data cannot answer
    the claims (no calls or no deployments: nothing is stored, the page says why when
    visited). The last step of every writer (module docstring).

    The panels do not depend on the dates (only their periods are cut), so they are
    built once for all the ranges (:func:`analytics.engines.reusing_results`); a one-click
    period the data cannot answer is left to the page (logged)."""
    import time

    from analytics.errors import CSOError

    t0 = time.perf_counter()
    if not (_has_rows(con, "calls") and _has_rows(con, "deployments")):
        return None
    dates = Filters()
    with engines.reusing_results():
        try:
            outs = [(dates, _compute(con, dates))]
        except CSOError as exc:
            log.info("claims not computed: %s", exc)
            return None
        for preset in preset_dates(con):
            try:
                outs.append((preset, _compute(con, preset)))
            except CSOError as exc:
                log.info("claims for %s not computed: %s", _filters_key(preset), exc)
    code, data = code_version(), data_version(con)
    for f, out in outs:
        _write(con, code, data, _filters_key(f), out, strict=True)
    return time.perf_counter() - t0


def refresh_stored(con: duckdb.DuckDBPyConnection) -> float | None:
    """:func:`store_claims` unless the stored answers are current already (a few
    milliseconds then: e.g. after saving a target, which the claims do not read)."""
    if is_current(con):
        return 0.0
    return store_claims(con)


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    b = engines.as_backend(con)
    if not engines.has_table(b, table):
        return False
    t = b.table(table)
    return not engines.execute(b, t.select(one=ibis.literal(1)).limit(1))[0].empty


def _inference_text(r: Any) -> dict[str, Any]:
    """The claim's inference line and design notes, worded once (wording.py)."""
    if r.estimate is None or r.analysis is None:
        return {"inference": "", "design_notes": []}
    a = r.analysis
    return {"inference": wording.inference_line(r.estimate),
            "design_notes": list(wording.design_notes(r.estimate, pretrend_p=a.pretrend_p,
                                                      mde=wording.mde_text(a.mde)))}


@dataclass(frozen=True)
class StoredEstimate(Result):
    """The numbers of a stored estimate (see :class:`~analytics.evaluation.Estimate`)."""

    scale: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None
    adjustment: str
    cluster_level: str | None
    n_clusters: int | None
    inference_method: str
    min_attainable_p: float | None
    method: str
    p_holm: float | None = None


@dataclass(frozen=True)
class StoredCheck(Result):
    """A stored check (negative control, or a claim's placebo in time)."""

    key: str
    label: str
    sentence: str
    significant: bool
    estimate: StoredEstimate | None = None
    stale_note: str = ""


@dataclass(frozen=True)
class StoredClaim(Result):
    """One programme claim's stored answer, worded by :mod:`analytics.evaluation.wording`.

    ``caveats`` are the claim's warnings (failed placebo or negative control).
    """

    key: str
    question: str
    metric: str
    verdict: str
    sentence: str
    note: str
    estimate: StoredEstimate | None
    inference: str
    design_notes: tuple[str, ...]
    placebo: StoredCheck | None
    family_note: str = ""
    stale_note: str = ""


_ESTIMATE_KEYS = ("scale", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted",
                  "adjustment", "cluster_level", "n_clusters", "inference_method",
                  "min_attainable_p", "method", "p_holm")


def _stored_estimate(d: dict[str, Any]) -> StoredEstimate | None:
    if "scale" not in d:  # no estimate (the claim had no answer)
        return None
    return StoredEstimate(**{k: d.get(k) for k in _ESTIMATE_KEYS})


def _stored_check(d: dict[str, Any] | None, key: str = "placebo",
                  label: str = "Placebo in time") -> StoredCheck | None:
    if d is None:
        return None
    return StoredCheck(key=d.get("key", key), label=d.get("label", label),
                       sentence=d["sentence"], significant=bool(d.get("significant")),
                       estimate=_stored_estimate(d), stale_note=d.get("stale_note", ""))


def _stored_claim(d: dict[str, Any]) -> StoredClaim:
    return StoredClaim(key=d["key"], question=d["question"], metric=d["metric"],
                       verdict=d["verdict"], sentence=d["sentence"], note=d["note"],
                       estimate=_stored_estimate(d), inference=d.get("inference", ""),
                       design_notes=tuple(d.get("design_notes", ())),
                       placebo=_stored_check(d.get("placebo")),
                       family_note=d.get("family_note", ""), stale_note=d.get("stale_note", ""),
                       caveats=tuple(d.get("warnings", ())))


def claims_summary(con: Any, filters: Filters | None = None) -> tuple[StoredClaim, ...]:
    """The four claims' answers (:class:`StoredClaim`: key, question, metric, verdict,
    sentence, note, the estimate with its inference fields — ``cluster_level``,
    ``n_clusters``, ``inference_method``, ``min_attainable_p``, ``p_value``,
    ``p_adjusted``, ``adjustment``, ``p_holm`` — its ``inference`` line, the
    ``family_note`` (what the adjustment is) and ``design_notes`` (worded by
    :mod:`analytics.evaluation.wording`), the claim's ``placebo``, its warnings as
    ``caveats`` and, for stale answers on a read-only server, ``stale_note``), from the
    store when it is current.

    Only the date range of ``filters`` applies (as in :func:`answer_claims` on the page).
    """
    return tuple(_stored_claim(d) for d in _payload(con, filters)["claims"])


def checks_summary(con: Any, filters: Filters | None = None) -> tuple[StoredCheck, ...]:
    """The standing checks beside the claims (the negative control)."""
    return tuple(_stored_check(d) for d in _payload(con, filters)["checks"])


def _read(con: Any, code: str, data: str, fkey: str) -> dict | None:
    b = engines.as_backend(con)
    if not engines.has_table(b, TABLE):
        return None
    t = b.table(TABLE)
    got = engines.execute(b, t.filter((t.code_version == code) & (t.data_version == data)
                                      & (t.filters == fkey)).select("payload").limit(1))[0]
    return None if got.empty else json.loads(str(got["payload"].iloc[0]))


def _write(con: duckdb.DuckDBPyConnection, code: str, data: str, fkey: str,
           out: dict, *, strict: bool = False) -> None:
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(_DDL)
        # Rows of other code or data versions can never be read again.
        con.execute(f"DELETE FROM {_Q} WHERE code_version <> ? OR data_version <> ? "
                    "OR filters = ?", [code, data, fkey])
        con.execute(f"INSERT INTO {_Q} (code_version, data_version, filters, payload) "
                    "VALUES (?, ?, ?, ?)", [code, data, fkey, json.dumps(out)])
        con.execute("COMMIT")
    except duckdb.Error as exc:  # read-only connection, or another session wrote first
        log.info("claims not stored: %s", str(exc).splitlines()[0])
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        if strict:
            raise
