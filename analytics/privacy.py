"""Privacy tiers (PRODUCT.md section 6), applied to every result before it is released.

Three tiers, chosen by the server's configuration only (never by a URL or a session):

- ``analyst``: everything, including incident points and free text (the default for a
  local demo).
- ``command``: points allowed; sensitive call types (the crosswalk's ``sensitive`` flag)
  are left out of every figure.
- ``public``: area aggregates only. Sensitive call types are left out of every figure
  (they therefore appear in no area, month or category below the city); no points, no
  free text, no record-level tables; every count between 1 and ``k - 1`` (default
  ``k = 10``) is suppressed, with complementary suppression so that no hidden value can
  be recovered from the totals (see :func:`suppression_mask`). A period is one cell of a
  fixed grid — a whole calendar year by default, or a quarter
  (:func:`analytics.core.periods.public_period`) — and the area, priority and category
  filters are not offered, so that the tables of two views cannot be subtracted to
  isolate a small group (two public periods are the same cell or disjoint).

Where the tier comes from (:func:`server_policy`): ``$CSO_TIER`` (``$CSO_PRIVACY_TIER``
is read as a deprecated alias), else ``tier`` under ``[privacy]`` in
``.streamlit/secrets.toml`` (project folder, then the user's home), else ``analyst``.
``k`` likewise: ``$CSO_PUBLIC_K`` or ``k`` under ``[privacy]``; the public period grid
``$CSO_PUBLIC_PERIOD`` (``year`` or ``quarter``) or ``period`` under ``[privacy]``.

Pages and exports reach results through :func:`scope_call` (the arguments a tier may
ask for) and :func:`release` (what the tier may see); both are called in one place, the
cached-call helper, and by the downloads, the briefing and the ``metrics`` command.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.core import options, periods
from analytics.errors import OptionError
from analytics.filters import Filters

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_K",
    "TIERS",
    "Policy",
    "Tier",
    "area_parents",
    "for_data",
    "release",
    "release_frame",
    "scope_call",
    "scope_filters",
    "server_policy",
    "suppression_mask",
]

Tier = Literal["analyst", "command", "public"]
TIERS: tuple[Tier, ...] = options.choices(Tier)
DEFAULT_K = 10  # common public-health small-numbers rule (suppress 1–9)

ENV_TIER = "CSO_TIER"
ENV_TIER_DEPRECATED = "CSO_PRIVACY_TIER"
ENV_K = "CSO_PUBLIC_K"
ENV_PERIOD = "CSO_PUBLIC_PERIOD"


@dataclass(frozen=True)
class Policy:
    """What a server releases: its tier, the small-cell threshold ``k``, and the data it
    needs to apply them (sensitive call types, beat → district parents).

    Frozen and hashable, so it can be part of a cache key.
    """

    tier: Tier = "analyst"
    k: int = DEFAULT_K
    sensitive_types: frozenset[str] = field(default_factory=frozenset)
    parents: tuple[tuple[str, str], ...] = ()
    period_unit: periods.GridUnit = "year"
    # The data's first and last date: public periods are the grid cells they cover fully.
    data_span: tuple[dt.date, dt.date] | None = None

    def __post_init__(self) -> None:
        options.check("privacy tier", self.tier, Tier)
        options.check("public period grid (CSO_PUBLIC_PERIOD)", self.period_unit,
                      periods.GridUnit)
        if not isinstance(self.k, int) or self.k < 2:
            raise OptionError(f"privacy k must be a whole number of at least 2; got {self.k!r}")

    @property
    def is_public(self) -> bool:
        """True for the public tier."""
        return self.tier == "public"

    @property
    def hides_sensitive(self) -> bool:
        """True when sensitive call types are left out (command and public)."""
        return self.tier != "analyst"

    @property
    def read_only(self) -> bool:
        """True when the server must not write (no upload, save or import)."""
        return self.tier != "analyst"

    def with_data(self, *, sensitive_types: Sequence[str] = (),
                  parents: Mapping[str, str] | None = None,
                  data_span: tuple[dt.date | None, dt.date | None] | None = None) -> Policy:
        """A copy that knows the sensitive call types, the beat → district parents and
        the data's first and last date (for the public period grid)."""
        span = (data_span if data_span is not None and None not in data_span else None)
        return dataclasses.replace(self, sensitive_types=frozenset(sensitive_types),
                                   parents=tuple(sorted((parents or {}).items())),
                                   data_span=span)  # type: ignore[arg-type]

    def public_period(self, end: dt.date | None = None) -> tuple[dt.date, dt.date] | None:
        """The public reporting period containing ``end`` (default: the latest), a whole
        cell of the grid that the data cover (:func:`analytics.core.periods.public_period`)."""
        lo, hi = self.data_span or (None, None)
        return periods.public_period(end, lo, hi, self.period_unit)

    def stamp(self) -> str:
        """One line saying what this tier shows, for every page, download and report."""
        if self.tier == "analyst":
            return "Privacy tier: analyst — all data, including sensitive call types."
        if self.tier == "command":
            return ("Privacy tier: command — sensitive call types (domestic violence, sexual "
                    "assault, juvenile, mental-health crisis …) are left out of every figure.")
        return (f"Privacy tier: public — area totals only; counts from 1 to {self.k - 1} "
                "are suppressed, with further cells hidden so that they cannot be worked "
                "out from totals; sensitive call types are left out; whole calendar "
                f"{'years' if self.period_unit == 'year' else 'quarters'} only.")


# -- where the tier comes from ---------------------------------------------------------
def _secrets_files(root: Path | None = None) -> list[Path]:
    """Streamlit's secrets locations: the project's ``.streamlit/`` first, then home."""
    here = (root or Path.cwd()) / ".streamlit" / "secrets.toml"
    return [here, Path.home() / ".streamlit" / "secrets.toml"]


def _secrets_privacy(files: Sequence[Path]) -> dict[str, Any]:
    for path in files:
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise OptionError(f"cannot read {path}: {exc}") from exc
            section = data.get("privacy")
            if isinstance(section, dict):
                return section
    return {}


def server_policy(environ: Mapping[str, str] | None = None,
                  secrets_files: Sequence[Path] | None = None) -> Policy:
    """The server's :class:`Policy` from its configuration (see the module docstring).

    Only the process environment and the secrets file are read: nothing a visitor
    can change (URL, session state, the database's ``settings``) takes part.
    """
    env = os.environ if environ is None else environ
    secrets = _secrets_privacy(_secrets_files() if secrets_files is None else secrets_files)
    tier = env.get(ENV_TIER)
    if not tier and env.get(ENV_TIER_DEPRECATED):
        log.warning("%s is deprecated; set %s instead", ENV_TIER_DEPRECATED, ENV_TIER)
        tier = env.get(ENV_TIER_DEPRECATED)
    tier = (tier or str(secrets.get("tier", "analyst"))).strip().lower()
    options.check("privacy tier (CSO_TIER)", tier, Tier)
    raw_k = env.get(ENV_K) or secrets.get("k", DEFAULT_K)
    try:
        k = int(raw_k)
    except (TypeError, ValueError):
        raise OptionError(f"privacy k ({ENV_K}) must be a whole number; got {raw_k!r}") from None
    unit = str(env.get(ENV_PERIOD) or secrets.get("period", "year")).strip().lower()
    return Policy(tier=tier, k=k, period_unit=unit)  # type: ignore[arg-type]


def area_parents(backend: Any) -> dict[str, str]:
    """Beat → district from the ``areas`` table (an Ibis backend)."""
    t = backend.table("areas")
    df = t.filter(t.parent_id.notnull()).select("area_id", "parent_id").execute()
    return dict(zip(df["area_id"].astype(str), df["parent_id"].astype(str), strict=True))


def for_data(policy: Policy, backend: Any) -> Policy:
    """``policy`` knowing the database (an Ibis backend): its sensitive call types, beat →
    district parents and call date span (the public period grid needs it)."""
    from analytics import catalog

    opts = catalog.filter_options(backend)
    return policy.with_data(sensitive_types=sensitive_call_types(backend),
                            parents=area_parents(backend),
                            data_span=(opts.min_date, opts.max_date))


def sensitive_call_types(backend: Any) -> tuple[str, ...]:
    """Call types the crosswalk marks sensitive (an Ibis backend)."""
    t = backend.table("call_types")
    df = t.filter(t.sensitive).select("call_type").execute()
    return tuple(sorted(df["call_type"].astype(str)))


# -- what a tier may ask for -----------------------------------------------------------
def scope_filters(filters: Filters, policy: Policy) -> Filters:
    """The filters a tier is allowed to run.

    command: sensitive call types excluded. public: also no area, priority or category
    restriction (tables are split by area instead), and a dated period becomes one cell
    of the public grid — the whole calendar year (or quarter) containing its end that
    the data cover fully (:meth:`Policy.public_period`; the cell containing the end when
    the policy does not know the data, or they cover no whole cell) — so that two views
    cannot be subtracted to isolate a group smaller than ``k``. An undated side stays
    open (all data up to / from the other side), as the evaluation needs.
    """
    if policy.tier == "analyst":
        return filters
    out = filters.with_(exclude_sensitive=True)
    if policy.is_public:
        start, end = out.start, out.end
        if start is not None and end is not None:
            start, end = (policy.public_period(end)
                          or periods.grid_cell(end, policy.period_unit))
        elif end is not None:
            end = (policy.public_period(end) or periods.grid_cell(end, policy.period_unit))[1]
        elif start is not None:
            start = periods.grid_cell(start, policy.period_unit)[0]
        out = out.with_(start=start, end=end, districts=(), beats=(), priorities=(),
                        categories=())
    return out


def scope_call(args: tuple, kwargs: dict, policy: Policy) -> tuple[tuple, dict]:
    """``args``/``kwargs`` with every :class:`Filters` replaced by :func:`scope_filters`."""
    if policy.tier == "analyst":
        return args, kwargs

    def fix(v: Any) -> Any:
        return scope_filters(v, policy) if isinstance(v, Filters) else v

    return tuple(fix(a) for a in args), {k: fix(v) for k, v in kwargs.items()}


# -- complementary suppression ---------------------------------------------------------
def suppression_mask(
    frame: pd.DataFrame,
    counts: Sequence[str],
    *,
    k: int = DEFAULT_K,
    areas: Sequence[str] = (),
    dims: Sequence[str] = (),
    max_nullspace_cells: int = 4000,
    forced: np.ndarray | None = None,
) -> np.ndarray:
    """Which rows of ``frame`` to hide so that no count from 1 to ``k - 1`` can be known.

    ``frame`` has one row per cell. ``areas`` are its area columns from the finest to the
    coarsest (e.g. ``["beat", "district"]``; the city is the level above the last), each
    coarser column a function of the finer; ``dims`` are the other dimensions (month,
    category, priority …). ``counts`` are additive count columns; a row is hidden as a
    whole (every value in it), so rates, shares and medians of a hidden cell go too.

    Algorithm (worst case: every total of the table over any set of its dimensions, and
    over the area hierarchy, is published somewhere):

    1. **Totals first.** The lattice of coarser tables (an area level up, or a dimension
       summed out, down to the city total) is suppressed first, recursively, by this same
       procedure; their hidden cells are fixed and their published cells are the totals
       this table must respect.
    2. **Primary suppression.** Hide every cell with a count from 1 to ``k - 1``.
    3. **Margins.** For every published total that contains exactly one hidden cell,
       hide its smallest other cell (smallest positive count first, so a structural zero
       is chosen last; never a cell that is the only member of another published total,
       which would be revealed by it). For every hidden total whose cells are all
       published, hide its smallest cell. Repeat until nothing changes.
    4. **Linear check.** Solve the published totals as a linear system in the hidden
       cells: a hidden cell (or hidden total) is recoverable when it lies in the row space
       of the system (its component in every null-space direction is zero). For each
       recoverable one, hide the smallest published cell sharing a total with it (or
       inside it), then return to step 3. Stops when nothing hidden is recoverable (or,
       beyond ``max_nullspace_cells`` hidden cells, after step 3 alone).

    Zero counts are not primary (a zero reveals no one) but may serve as complements.
    ``forced`` (one bool per row) marks cells hidden for another reason (e.g. their row's
    main count is hidden); they are treated as primary.

    Returns
    -------
    numpy.ndarray of bool, one per row: True = hide.

    Examples
    --------
    >>> df = pd.DataFrame({"district": ["D1", "D2", "D3"], "calls": [3, 40, 55]})
    >>> suppression_mask(df, ["calls"], areas=["district"]).tolist()
    [True, True, False]
    """
    if frame.empty or not counts:
        return np.zeros(len(frame), dtype=bool)
    vals = frame[list(counts)].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(float)
    keys = (frame[list(areas) + list(dims)].astype(object).fillna("<missing>").astype(str)
            .to_numpy())
    solver = _Lattice(keys, vals, n_areas=len(areas), n_dims=len(dims), k=k,
                      max_nullspace_cells=max_nullspace_cells,
                      forced=None if forced is None else np.asarray(forced, dtype=bool))
    return solver.hidden_rows()


class _Lattice:
    """The tables of the suppression lattice over one frame, solved from the top."""

    def __init__(self, keys: np.ndarray, vals: np.ndarray, *, n_areas: int, n_dims: int,
                 k: int, max_nullspace_cells: int, forced: np.ndarray | None = None) -> None:
        self.keys, self.vals, self.k, self.forced = keys, vals, k, forced
        self.n_areas, self.n_dims = n_areas, n_dims
        self.max_nullspace_cells = max_nullspace_cells
        self._gid: dict[tuple, np.ndarray] = {}
        self._hidden: dict[tuple, np.ndarray] = {}

    # A node is (a, S): a = area level kept (index into the area columns; n_areas = city),
    # S = the other dimensions kept (a tuple of their indices).
    def _cols(self, node: tuple[int, tuple[int, ...]]) -> list[int]:
        a, dims = node
        cols = [a] if a < self.n_areas else []
        return cols + [self.n_areas + d for d in dims]

    def gid(self, node: tuple) -> np.ndarray:
        """Cell index of every row in the node's table."""
        if node not in self._gid:
            cols = self._cols(node)
            if not cols:
                self._gid[node] = np.zeros(len(self.keys), dtype=np.int64)
            else:
                sub = pd.DataFrame(self.keys[:, cols])
                self._gid[node] = (sub.groupby(list(sub.columns), sort=False, dropna=False)
                                   .ngroup().to_numpy())
        return self._gid[node]

    def coarser(self, node: tuple) -> list[tuple]:
        a, dims = node
        out = []
        for a2 in range(a, self.n_areas + 1):
            for r in range(len(dims) + 1):
                for sub in itertools.combinations(dims, r):
                    if (a2, sub) != node:
                        out.append((a2, sub))
        return out

    def hidden_rows(self) -> np.ndarray:
        fine = (0, tuple(range(self.n_dims)))
        return self.hidden(fine)[self.gid(fine)]

    def hidden(self, node: tuple) -> np.ndarray:
        if node not in self._hidden:
            self._hidden[node] = self._solve(node)
        return self._hidden[node]

    def _solve(self, node: tuple) -> np.ndarray:
        g = self.gid(node)
        m = int(g.max()) + 1 if len(g) else 0
        vals = np.zeros((m, self.vals.shape[1]))
        np.add.at(vals, g, self.vals)
        weight = vals[:, 0]
        hidden = ((vals >= 1) & (vals < self.k)).any(axis=1)
        if self.forced is not None and node == (0, tuple(range(self.n_dims))):
            hidden[np.unique(g[self.forced])] = True
        # Each coarser table: which of its cells holds each of this table's cells.
        rep = np.zeros(m, dtype=np.int64)
        rep[g[::-1]] = np.arange(len(g))[::-1]  # first row of every cell
        parents = []
        for c in self.coarser(node):
            cg = self.gid(c)[rep]
            parents.append((cg, self.hidden(c)))
        if not parents:
            return hidden
        # Cells that alone make up a published total would be revealed by it: never use
        # them as complements.
        pinned = np.zeros(m, dtype=bool)
        for cg, ch in parents:
            size = np.bincount(cg, minlength=len(ch))
            pinned |= (size[cg] == 1) & ~ch[cg]

        def pick(members: np.ndarray) -> int | None:
            cand = members[~hidden[members] & ~pinned[members]]
            if not len(cand):
                return None
            w = weight[cand]
            order = np.lexsort((cand, w, w <= 0))  # positive first, then smallest
            return int(cand[order[0]])

        while True:
            changed = self._margins(hidden, parents, pick)
            if changed:
                continue
            if hidden.sum() > self.max_nullspace_cells:
                log.info("suppression: %d hidden cells, linear check skipped", hidden.sum())
                return hidden
            if not self._linear_fix(hidden, parents, pick):
                return hidden

    @staticmethod
    def _margins(hidden: np.ndarray, parents: list, pick: Any) -> bool:
        changed = False
        again = True
        while again:
            again = False
            for cg, ch in parents:
                nh = np.bincount(cg, weights=hidden.astype(float), minlength=len(ch))
                # published totals with one hidden cell; hidden totals with none
                bad = np.flatnonzero(((nh == 1) & ~ch) | ((nh == 0) & ch))
                for c in bad:
                    members = np.flatnonzero(cg == c)
                    if ch[c] and len(members) == 0:
                        continue
                    j = pick(members)
                    if j is not None:
                        hidden[j] = True
                        again = changed = True
        return changed

    @staticmethod
    def _linear_fix(hidden: np.ndarray, parents: list, pick: Any) -> bool:
        idx = np.flatnonzero(hidden)
        if not len(idx):
            return False
        pos = {int(j): i for i, j in enumerate(idx)}
        rows, targets = [], []
        for cg, ch in parents:
            sub = cg[idx]
            for c in np.unique(sub):
                vec = (sub == c).astype(float)
                (targets if ch[c] else rows).append((vec, cg, c))
        n = len(idx)
        if rows:
            a = np.array([r[0] for r in rows])
            _, s, vt = np.linalg.svd(a, full_matrices=True)
            rank = int((s > 1e-9 * max(s.max(), 1)).sum())
            null = vt[rank:].T  # n × (n - rank)
        else:
            null = np.eye(n)
        fixed = False
        # hidden cells recoverable from the published totals
        for i in np.flatnonzero(np.abs(null).max(axis=1, initial=0) < 1e-9) if null.size \
                else range(n):
            j = int(idx[i])
            for cg, ch in parents:
                c = cg[j]
                if ch[c]:
                    continue
                new = pick(np.flatnonzero(cg == c))
                if new is not None:
                    hidden[new] = True
                    fixed = True
                    break
        # hidden totals recoverable from the published cells and totals
        for vec, cg, c in targets:
            if null.size == 0 or np.abs(vec @ null).max(initial=0) < 1e-9:
                new = pick(np.flatnonzero(cg == c))
                if new is not None:
                    hidden[new] = True
                    fixed = True
        del pos
        return fixed


# -- what a tier may see ---------------------------------------------------------------
# Area polygons (``geometry``) are public; point coordinates and addresses are not.
POINT_COLUMNS = frozenset({"lat", "lon", "latitude", "longitude", "address", "location",
                           "block"})
# Integer columns that are not counts of people or events.
NOT_COUNT_COLUMNS = frozenset({"cso_count", "population", "version", "year", "rank",
                               "n_units", "n_treated_units", "n_periods", "n_clusters",
                               "areas", "with_polygon", "ci_level"})
FREE_TEXT_COLUMNS = frozenset({"note", "notes", "narrative", "comment", "comments",
                               "remarks", "changed_by", "old_value", "new_value",
                               "file_name", "file"})
RECORD_ID_COLUMNS = frozenset({"call_id", "incident_id", "activity_id", "unit_id",
                               "assignment_id"})
AREA_COLUMNS = ("beat", "district", "area_id", "area")
DIM_COLUMNS = frozenset({
    "month", "week", "day", "date", "year", "quarter", "hour", "weekday", "dow", "period",
    "window", "category", "offense_category", "offense", "priority", "call_type",
    "unit_type", "cso_tier", "source", "disposition", "activity_type", "segment", "group",
    "treated", "level", "step",
})
# Dimensions whose values are overlapping views, not parts of a whole (a 28-day and a
# 365-day window): their sum is no published total, so each value is its own table.
SEPARATE_DIMS = frozenset({"window"})
TOTAL_LABELS = frozenset({"all", "total", "(all)", "all categories", "all priorities"})
_COUNT_NAME = re.compile(r"(^n$|^n_|_n$|^value$|calls|incidents|crimes|count|^current$|^previous$"
                         r"|contacts|events|arrests|reports|assignments|cells|areas)",
                         re.IGNORECASE)


def _secondary_mask(work: pd.DataFrame, cols: Sequence[str], row_hidden: np.ndarray, k: int,
                    areas: Sequence[str], dims: Sequence[str]) -> np.ndarray:
    """Cell-level suppression of breakdown counts (one column per part, e.g. exclusion
    steps): the columns become one more dimension of a long table, so their row sums
    and column sums count as published totals; rows hidden as a whole stay hidden."""
    long = work[list(areas) + list(dims)].copy()
    parts = []
    for c in cols:
        part = long.assign(__measure=str(c), __value=pd.to_numeric(work[c], errors="coerce"))
        parts.append(part)
    stacked = pd.concat(parts, ignore_index=True)
    forced = np.tile(row_hidden, len(cols))
    mask = suppression_mask(stacked, ["__value"], k=k, areas=areas,
                            dims=[*dims, "__measure"], forced=forced)
    return mask.reshape(len(cols), len(work)).T


def _is_count(s: pd.Series) -> bool:
    if str(s.name).lower() in NOT_COUNT_COLUMNS:
        return False
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return False
    if pd.api.types.is_integer_dtype(s):
        return True
    if not _COUNT_NAME.search(str(s.name)):
        return False
    v = s.dropna().to_numpy(float)
    return bool(len(v)) and bool(np.all(np.isfinite(v))) and bool(np.all(v == np.round(v)))


def frame_layout(df: pd.DataFrame, parents: Mapping[str, str] | None = None
                 ) -> tuple[list[str], list[str], list[str], pd.DataFrame]:
    """(area columns finest → coarsest, other dimensions, counts, working frame).

    The working frame may carry a derived ``__district`` column (a beat's parent from
    ``parents``) when the frame has beats but no district column.
    """
    cols = {str(c).lower(): c for c in df.columns}
    areas: list[str] = []
    work = df
    present = [cols[a] for a in AREA_COLUMNS if a in cols]

    def beat_like(c: Any) -> bool:
        return bool(parents) and df[c].dropna().astype(str).isin(list(parents or {})).all() \
            and df[c].notna().any()

    # the finest area column: beats (by name, or ids that have a parent district), else
    # districts, else whatever area column there is
    finest = next((c for c in present if str(c).lower() == "beat"), None)
    finest = finest or next((c for c in present if str(c).lower() != "district"
                             and beat_like(c)), None)
    finest = finest or next(iter(present), None)
    if finest is not None:
        areas.append(finest)
        values = df[finest].astype(str)
        if str(finest).lower() != "district" and "district" in cols:
            areas.append(cols["district"])
        elif str(finest).lower() != "district" and beat_like(finest):
            work = df.assign(__district=values.map(dict(parents or {})))
            areas.append("__district")
    dims = [c for c in df.columns if c not in areas
            and (str(c).lower() in DIM_COLUMNS or pd.api.types.is_datetime64_any_dtype(df[c]))]
    counts = [c for c in df.columns if c not in areas and c not in dims and _is_count(df[c])]
    return areas, dims, counts, work


# Columns that date a row's own window (Crime trends' 28-day, 365-day and year-to-date).
WINDOW_SPANS = (("current_start", "current_end"), ("previous_start", "previous_end"),
                ("ytd_start", "ytd_end"))


def _whole_period_rows(df: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Rows whose windows are whole cells of the public grid. A window that is not (the
    last 28 or 365 days, a part-year to date) overlaps the period's months in part: its
    count minus a month's would isolate a few days, so it is not released."""
    keep = np.ones(len(df), dtype=bool)
    for lo, hi in WINDOW_SPANS:
        if lo in df.columns and hi in df.columns:
            keep &= np.array([
                not (pd.isna(a) or pd.isna(b))
                and periods.grid_cell(pd.Timestamp(a).date(), policy.period_unit)
                == (pd.Timestamp(a).date(), pd.Timestamp(b).date())
                for a, b in zip(df[lo], df[hi], strict=True)], dtype=bool)
    return df if keep.all() else df[keep]


def release_frame(df: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The part of a result table the policy's tier may see (a new frame).

    command and public: rows of sensitive call types dropped. public also: point,
    free-text and record-level tables removed, windows that are not whole periods of the
    public grid dropped (:func:`_whole_period_rows`), and small counts suppressed with
    :func:`suppression_mask` — a hidden row keeps its dimensions (area, month …), its
    labels and flags, and loses every number; a ``suppressed`` column, where the table
    has one, says so. (Results hold numbers, not formatted text: pages format after.)
    Rows labelled as totals (``All``/``Total``) are treated as published totals.
    """
    if policy.tier == "analyst" or not isinstance(df, pd.DataFrame):
        return df
    out = df
    lower = {str(c).lower(): c for c in out.columns}
    if policy.sensitive_types and "call_type" in lower:
        out = out[~out[lower["call_type"]].astype(str).isin(policy.sensitive_types)]
    if "sensitive" in lower and pd.api.types.is_bool_dtype(out[lower["sensitive"]]):
        out = out[~out[lower["sensitive"]].fillna(False).astype(bool)]
    if not policy.is_public:
        return out.reset_index(drop=True) if out is not df else out
    if RECORD_ID_COLUMNS & set(lower):
        return out.iloc[0:0].drop(columns=[c for c in out.columns
                                           if str(c).lower() in POINT_COLUMNS | FREE_TEXT_COLUMNS])
    drop = [c for c in out.columns if str(c).lower() in POINT_COLUMNS | FREE_TEXT_COLUMNS]
    out = _whole_period_rows(out.drop(columns=drop), policy).reset_index(drop=True)
    areas, dims, counts, work = frame_layout(out, dict(policy.parents))
    if not counts:
        return out
    # Rows that are totals of the others: judged as the totals they are.
    total_rows = np.zeros(len(out), dtype=bool)
    for c in dims + areas:
        if c in out.columns and not pd.api.types.is_numeric_dtype(out[c]):
            total_rows |= out[c].astype(str).str.strip().str.lower().isin(TOTAL_LABELS).to_numpy()
    # The row's own counts (named like counts: calls, n, incidents …) decide whether the
    # whole row — its rates, shares and medians too — is hidden; other integer counts
    # (breakdowns such as exclusion steps) are hidden cell by cell (see _secondary_mask).
    basis = [c for c in counts if _COUNT_NAME.search(str(c))] or counts
    secondary = [c for c in counts if c not in basis]
    hidden = np.zeros(len(out), dtype=bool)
    cell_hidden = np.zeros((len(out), len(secondary)), dtype=bool)
    detail = ~total_rows
    separate = [d for d in dims if str(d).lower() in SEPARATE_DIMS]
    additive = [d for d in dims if d not in separate]
    if detail.any():
        if separate:
            groups = work[separate].astype(str).agg("|".join, axis=1).to_numpy()
        else:
            groups = np.zeros(len(work), dtype=int)
        for g in np.unique(groups[detail]):
            sel = detail & (groups == g)
            extra = np.zeros(int(sel.sum()), dtype=bool)
            for _ in range(5):
                h = suppression_mask(work[sel], basis, k=policy.k, areas=areas,
                                     dims=additive, forced=extra)
                if not secondary:
                    break
                ch = _secondary_mask(work[sel], secondary, h, policy.k, areas, additive)
                # A lone hidden part of a shown row is the row's total minus the rest:
                # hide the row instead (and let its complements follow).
                lone = (ch.sum(axis=1) == 1) & ~h
                if not lone.any():
                    break
                extra |= lone
            hidden[sel] = h
            if secondary:
                cell_hidden[sel] = ch | h[:, None]
    if total_rows.any():
        tv = out.loc[total_rows, basis].apply(pd.to_numeric, errors="coerce").fillna(0)
        hidden[total_rows] = ((tv >= 1) & (tv < policy.k)).any(axis=1).to_numpy()
        if secondary:
            sv = out.loc[total_rows, secondary].apply(pd.to_numeric, errors="coerce").fillna(0)
            cell_hidden[total_rows] = ((sv >= 1) & (sv < policy.k)).to_numpy()
    if cell_hidden.any():
        out = out.copy()
        for j, c in enumerate(secondary):
            if cell_hidden[:, j].any():
                out[c] = out[c].astype("Int64")
                out.loc[cell_hidden[:, j], c] = pd.NA
    if not hidden.any():
        return out
    out = out.copy()
    keep = set(areas) | set(dims)
    for c in out.columns:
        if c in keep or str(c).lower() == "suppressed":
            continue
        if pd.api.types.is_bool_dtype(out[c]):
            continue  # flags (in the filter, above a threshold) stay: not counts
        if pd.api.types.is_integer_dtype(out[c]):
            out[c] = out[c].astype("Int64")
            out.loc[hidden, c] = pd.NA
        elif pd.api.types.is_numeric_dtype(out[c]):
            out.loc[hidden, c] = np.nan
    if "suppressed" in lower:
        out[lower["suppressed"]] = out[lower["suppressed"]].fillna(False).astype(bool) | hidden
    return out


def release(obj: Any, policy: Policy) -> Any:
    """``obj`` with every table inside it released for ``policy`` (see
    :func:`release_frame`): frames, frozen dataclasses (fields replaced, never mutated),
    tuples, lists and dicts are walked; other values pass unchanged."""
    if policy.tier == "analyst":
        return obj
    return _walk(obj, policy, 0)


def _walk(obj: Any, policy: Policy, depth: int) -> Any:
    if depth > 6:
        return obj
    if isinstance(obj, pd.DataFrame):
        return release_frame(obj, policy)
    if isinstance(obj, (str, bytes, int, float, bool, type(None), dt.date, Filters)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            if not f.init:
                continue
            v = getattr(obj, f.name)
            nv = _walk(v, policy, depth + 1)
            if nv is not v:
                changes[f.name] = nv
        return dataclasses.replace(obj, **changes) if changes else obj
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        new = tuple(_walk(v, policy, depth + 1) for v in obj)
        return new if any(a is not b for a, b in zip(new, obj, strict=True)) else obj
    if isinstance(obj, list):
        return [_walk(v, policy, depth + 1) for v in obj]
    if isinstance(obj, dict):
        return {k: _walk(v, policy, depth + 1) for k, v in obj.items()}
    return obj


def strictest(*tiers: Tier) -> Tier:
    """The most restrictive of ``tiers`` (analyst < command < public)."""
    return max(tiers, key=TIERS.index)


def release_report(report: Any, policy: Policy) -> Any:
    """A plain-data report (nested dicts and lists, e.g. ``metrics_report``) released for
    ``policy``: every list of records (dicts with the same keys) is released as a table
    by :func:`release_frame`; a suppressed value becomes ``None``. Adds
    ``privacy_tier``: the policy's stamp, at the top level."""
    out = _release_plain(report, policy)
    if isinstance(out, dict):  # the stamp right after the format version, if any
        head = {k: out[k] for k in list(out)[:1] if k == "format_version"}
        out = {**head, "privacy_tier": policy.stamp(),
               **{k: v for k, v in out.items() if k not in head}}
    return out


def _release_plain(v: Any, policy: Policy) -> Any:
    if isinstance(v, dict):
        return {k: _release_plain(x, policy) for k, x in v.items()}
    if isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
        keys = list(v[0])
        if all(list(r) == keys for r in v) and not any(
                isinstance(x, (dict, list)) for r in v for x in r.values()):
            if policy.tier == "analyst":
                return v
            df = pd.DataFrame(v, columns=keys)
            for c in df.columns:  # ISO dates back to datetimes: dimensions, not labels
                if str(c).lower() in {"month", "week", "day", "date", "period"}:
                    # Our plain results carry ISO 8601 dates only; naming the format keeps
                    # labels such as "before"/"after" text instead of guessing per element.
                    parsed = pd.to_datetime(df[c], errors="coerce", format="ISO8601")
                    if parsed.notna().sum() == df[c].notna().sum():
                        df[c] = parsed
            rel = release_frame(df, policy)
            dates = dates_of(rel)
            return [{k: _plain_value(r[k], k in dates) for k in rel.columns}
                    for r in rel.to_dict("records")]
        return [_release_plain(x, policy) for x in v]
    if isinstance(v, list):
        return [_release_plain(x, policy) for x in v]
    return v


def dates_of(df: pd.DataFrame) -> set[str]:
    """Columns of ``df`` holding datetimes."""
    return {c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])}


def _plain_value(value: Any, is_date: bool) -> Any:
    """A released cell as JSON-ready data (suppressed → None, a date as ISO text)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if is_date and isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return value.item() if hasattr(value, "item") else value
