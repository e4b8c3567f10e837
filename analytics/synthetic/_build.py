"""The demo-city generator: every canonical table, vectorised with NumPy, loaded via Arrow.

Randomness: one ``SeedSequence(seed)`` spawns an independent stream per component (city,
volumes, each chunk of calls, incidents, activities), so the same seed and ``n_calls``
always give identical tables. Calls are generated in chunks of whole days (about 400k
calls each) to bound memory at 10 M calls; the per-cell counts are drawn once, globally.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import shapely

from analytics import db, facts
from analytics.synthetic import _geo
from analytics.synthetic import _params as P
from analytics.synthetic._truth import make_truth

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
EPOCH = np.datetime64(P.START_DATE.isoformat(), "s")
CHUNK_CALLS = 400_000


def _noop(_f: float, _m: str) -> None:
    pass


# -- helpers ----------------------------------------------------------------------------
def _lognormal(rng: np.random.Generator, mean: np.ndarray | float, sigma: float, n: int) -> np.ndarray:
    """Lognormal draws with the given arithmetic mean."""
    return np.asarray(mean) * np.exp(sigma * rng.standard_normal(n) - sigma * sigma / 2)


def _pick_rows(cum: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: for each item, a column index from row ``row`` of the
    cumulative-probability matrix ``cum`` (rows end at 1)."""
    k = cum.shape[1]
    flat = (np.arange(cum.shape[0])[:, None] + cum).ravel()
    idx = np.searchsorted(flat, row + u, side="right") - row * k
    return np.clip(idx, 0, k - 1)


def _cum(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    c = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)
    c[..., -1] = 1.0
    return c


def _ts(sec: np.ndarray) -> pa.Array:
    """Seconds since 2022-01-01 (float, NaN = NULL) -> Arrow timestamp[s]."""
    sec = np.asarray(sec, dtype=float)
    mask = np.isnan(sec)
    vals = EPOCH + np.where(mask, 0, np.floor(sec)).astype("int64").astype("timedelta64[s]")
    return pa.array(vals, mask=mask if mask.any() else None, type=pa.timestamp("s"))


def _dict(idx: np.ndarray, values) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(idx, dtype=np.int32)),
                                          pa.array(list(values), type=pa.string()))


def _insert(con: duckdb.DuckDBPyConnection, table: str, tbl: pa.Table, select: str = "*") -> None:
    # several record batches let DuckDB scan the frame on all threads
    tbl = pa.Table.from_batches(tbl.to_batches(max_chunksize=122_880), schema=tbl.schema)
    con.register("_syn_chunk", tbl)
    try:
        # table name from the fixed list of canonical tables in this module
        con.execute(f"INSERT INTO {table} SELECT {select} FROM _syn_chunk")
    finally:
        con.unregister("_syn_chunk")


# -- model ------------------------------------------------------------------------------
@dataclass
class Model:
    n_calls: int
    seed: int
    city: _geo.City
    population: np.ndarray  # per beat
    start_day: np.ndarray  # per beat, day index of deployment start (N_DAYS = never)
    cso_count: np.ndarray  # per beat
    patrol_share: np.ndarray  # per beat
    dose_h_week: np.ndarray  # planned CSO foot-patrol hours / week (0 untreated)
    day_factor: np.ndarray  # N_DAYS
    beat_w_public: np.ndarray
    beat_w_officer: np.ndarray
    prio_cum: np.ndarray  # (types, 4) calibrated
    online_p: np.ndarray  # per type
    onscene_min: np.ndarray  # per type, primary sworn unit
    units_lambda: np.ndarray  # (types, 4) extra-units Poisson mean
    staff_plan: np.ndarray  # (district, weekday, shift) sworn units planned
    roster: np.ndarray  # (district, shift) number of sworn unit ids


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days + P.FIRST_WEEKDAY) % 7


def _shift_of_hour(hour: np.ndarray) -> np.ndarray:
    return np.where((hour >= 6) & (hour < 14), 0, np.where((hour >= 14) & (hour < 22), 1, 2))


def _hour_cum() -> np.ndarray:
    """Rows: public weekday, public weekend, officer weekday, officer weekend."""
    return _cum(np.stack([P.HOUR_PUBLIC_WEEKDAY, P.HOUR_PUBLIC_WEEKEND,
                          P.HOUR_OFFICER, P.HOUR_OFFICER]))


def build_model(n_calls: int, seed: int, rng: np.random.Generator) -> Model:
    city = _geo.make_city(rng)
    nb = len(city.beat_ids)
    # Population: 600 calls per 1,000 residents per year (A1) -> ~417k for 1M calls.
    total_pop = n_calls / P.YEARS / P.CALLS_PER_1000_PER_YEAR * 1000
    pw = city.beat_area_km2 * rng.lognormal(0, 0.35, nb)
    population = np.round(total_pop * pw / pw.sum()).astype(int)
    commercial = rng.lognormal(0, 0.30, nb)
    beat_w_public = population * commercial
    beat_w_officer = population * commercial * rng.lognormal(0, 0.25, nb)

    start_day = np.full(nb, P.N_DAYS)
    for d, name in enumerate(P.DISTRICTS):
        s = P.DEPLOYMENT_STARTS[name]
        if s is not None:
            start_day[city.beat_district == d] = (s - P.START_DATE).days
    treated = start_day < P.N_DAYS
    cso_count = np.where(treated, rng.integers(P.CSO_COUNT_RANGE[0], P.CSO_COUNT_RANGE[1] + 1, nb), 0)
    patrol_share = np.where(treated, rng.uniform(*P.CSO_PATROL_SHARE_RANGE, nb), 0.0)
    dose = cso_count * P.CSO_SHIFTS_PER_WEEK * P.CSO_SLOTS_PER_SHIFT * P.CSO_SLOT_MEAN_H * patrol_share

    days = np.arange(P.N_DAYS)
    doy = np.array([(P.START_DATE + dt.timedelta(days=int(i))).timetuple().tm_yday for i in days])
    season = 1 + P.SEASON_AMPLITUDE * np.cos(2 * np.pi * (doy - P.SEASON_PEAK_DOY) / 365.25)
    wk = P.WEEKDAY_SHARE / P.WEEKDAY_SHARE.mean()
    day_factor = season * wk[_weekday(days)] * (1 + P.TREND_PER_YEAR * days / 365.25)

    # Priority probabilities: iterative proportional fitting so the public dispatched mix
    # matches B1 (3/8/63/26 %).
    pub = ~P.CT_IS_OFFICER
    disp_w = P.CT_PUBLIC_W * (1 - P.CT_ONLINE) * np.where(P.CT_ONLINE > 0, 1 - P.TELEPHONE_REPORT_PROB, 1)
    prio = P.CT_PRIORITY.copy()
    for _ in range(50):
        mix = (disp_w[pub, None] * prio[pub]).sum(0)
        mix /= mix.sum()
        prio[pub] *= (P.PRIORITY_MIX / np.where(mix > 0, mix, 1))[None]
        prio /= prio.sum(1, keepdims=True)
    prio_cum = _cum(prio)

    # Online share: scale each report type's online share so online ≈ 6.5 % of all calls (A4).
    pub_total = P.CT_PUBLIC_W.sum()
    target = P.ONLINE_SHARE / (1 - P.OFFICER_SHARE) * pub_total
    k = target / (P.CT_PUBLIC_W * P.CT_ONLINE).sum()
    online_p = np.clip(P.CT_ONLINE * k, 0, 0.9)

    # Units per call and time on scene, scaled to C1 (1.8 units × 30.8 min public).
    lam = P.EXTRA_UNITS_LAMBDA[None, :] * P.CT_UNIT_FACTOR[:, None]
    exp_extra = _expected_capped_poisson(lam, 4)
    w_tp = disp_w[:, None] * prio * pub[:, None]
    mean_units = 1 + (w_tp * exp_extra).sum() / w_tp.sum()
    lam *= (P.PUBLIC_UNITS - 1) / (mean_units - 1)
    exp_extra = _expected_capped_poisson(lam, 4)
    units_tp = 1 + exp_extra
    travel_tp = np.broadcast_to(P.TRAVEL_MEAN_MIN[None, :], units_tp.shape)
    # committed per unit = travel + on-scene × role (primary 1, backups 0.7, + dispatch lag)
    role = (1 + 0.7 * exp_extra) / units_tp
    w_u = w_tp * units_tp
    onscene_rel = P.CT_ONSCENE[:, None] * role
    scale = (P.PUBLIC_COMMITTED_MIN - (w_u * travel_tp).sum() / w_u.sum()) / (
        (w_u * onscene_rel).sum() / w_u.sum())
    onscene = P.CT_ONSCENE * scale
    # officer-initiated: primary on scene from the start; backups travel ~3 min
    oi = P.CT_IS_OFFICER
    oi_units = 1 + P.OFFICER_EXTRA_UNITS_LAMBDA
    w_oi = P.CT_OFFICER_W[oi]
    rel = (w_oi * P.CT_ONSCENE[oi]).sum() / w_oi.sum()
    oi_scale = (P.OFFICER_COMMITTED_MIN * oi_units - P.OFFICER_EXTRA_UNITS_LAMBDA * 3.0) / (
        rel * (1 + 0.7 * P.OFFICER_EXTRA_UNITS_LAMBDA))
    onscene[oi] = P.CT_ONSCENE[oi] * oi_scale

    # Sworn staffing: expected sworn unit-hours per hour by district, weekday and hour
    # (public dispatched calls, average season), staffed so the busiest hour of a shift
    # runs at SWORN_TARGET_PEAK_UTIL (C4).
    hours_per_call = ((w_tp * units_tp * (travel_tp + onscene[:, None] * role)).sum()
                      / w_tp.sum() / 60.0)
    pub_share_dispatched = (1 - P.OFFICER_SHARE) * disp_w[pub].sum() / P.CT_PUBLIC_W[pub].sum()
    calls_per_day = n_calls / P.N_DAYS
    dist_share = np.array([beat_w_public[city.beat_district == d].sum()
                           for d in range(len(P.DISTRICTS))]) / beat_w_public.sum()
    hcum = _hour_cum()
    hshare = np.diff(np.concatenate([np.zeros((4, 1)), hcum], axis=1), axis=1)
    demand = np.zeros((len(P.DISTRICTS), 7, 24))
    for wd in range(7):
        prof = hshare[1] if wd >= 5 else hshare[0]
        demand[:, wd, :] = (calls_per_day * pub_share_dispatched * hours_per_call
                            * dist_share[:, None] * wk[wd] * prof[None, :])
    shift = _shift_of_hour(np.arange(24))
    staff_plan = np.zeros((len(P.DISTRICTS), 7, 3))
    for s in range(3):
        peak = demand[:, :, shift == s].max(axis=2) * (1 + P.SEASON_AMPLITUDE)
        staff_plan[:, :, s] = np.maximum(2, np.ceil(peak / P.SWORN_TARGET_PEAK_UTIL / P.SWORN_ATTENDANCE))
    roster = np.maximum(staff_plan.max(axis=1), P.MIN_SWORN_ROSTER).astype(int)

    return Model(n_calls, seed, city, population, start_day, cso_count, patrol_share, dose,
                 day_factor, beat_w_public, beat_w_officer, prio_cum, online_p, onscene, lam,
                 staff_plan, roster)


def _expected_capped_poisson(lam: np.ndarray, cap: int) -> np.ndarray:
    from math import factorial

    out = np.zeros_like(lam, dtype=float)
    tail = np.ones_like(lam, dtype=float)
    for k in range(cap):
        pk = np.exp(-lam) * lam ** k / factorial(k)
        out += k * pk
        tail -= pk
    return out + cap * tail


def _load_g(u: np.ndarray) -> np.ndarray:
    """Queue growth with sworn utilisation u: M/M/1-like 1/(1-u), u capped at 0.8."""
    return 1.0 / (1.0 - np.minimum(u, 0.8))


# -- call counts --------------------------------------------------------------------------
def call_cell_counts(m: Model, rng: np.random.Generator) -> np.ndarray:
    """Counts per (day, beat, call type): one multinomial draw of exactly n_calls over the
    intensity with the planted volume effects (int32 array)."""
    pub_w = P.CT_PUBLIC_W / P.CT_PUBLIC_W.sum() * (1 - P.OFFICER_SHARE)
    oi_w = P.CT_OFFICER_W / P.CT_OFFICER_W.sum() * P.OFFICER_SHARE
    bp = m.beat_w_public / m.beat_w_public.sum()
    bo = m.beat_w_officer / m.beat_w_officer.sum()
    lam = m.day_factor[:, None, None] * (bp[None, :, None] * pub_w[None, None, :]
                                         + bo[None, :, None] * oi_w[None, None, :])
    post = np.arange(P.N_DAYS)[:, None] >= m.start_day[None, :]  # (day, beat)
    susp = int(np.flatnonzero(P.CT_CODE == "SUSPICIOUS")[0])
    lam[:, :, susp] *= np.where(post, P.SUSPICIOUS_RATE_RATIO, 1.0)
    lam[:, :, P.CT_IS_OFFICER] *= np.where(post, P.OFFICER_INITIATED_RATE_RATIO, 1.0)[:, :, None]
    p = lam.ravel() / lam.sum()
    return rng.multinomial(m.n_calls, p).astype(np.int32).reshape(lam.shape)


# -- calls and assignments ------------------------------------------------------------------
@dataclass
class _Acc:
    """Accumulates, across chunks, the truth of planted effect (b): for every public P1–2
    call with an arrival in a treated beat from the month of its start on, the total
    response minutes with (y1) and without (y0) the programme, the call's beat, month
    (index from START_DATE's month, the period of the Evaluation panel) and whether it
    came on/after the start (``post``; y0 = y1 before). One array per chunk in each list.
    """

    y1: list = dataclasses.field(default_factory=list)
    y0: list = dataclasses.field(default_factory=list)
    beat: list = dataclasses.field(default_factory=list)
    month: list = dataclasses.field(default_factory=list)
    post: list = dataclasses.field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        """The accumulated columns, concatenated over chunks."""
        dtypes = {"y1": float, "y0": float, "beat": np.int32, "month": np.int32, "post": bool}
        return {k: (np.concatenate(getattr(self, k)) if getattr(self, k)
                    else np.zeros(0, dtype=dt_)) for k, dt_ in dtypes.items()}


def _sworn_unit_index(m: Model, district: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offset into the unit list and roster size for each (district, shift)."""
    sizes = m.roster.ravel()
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    key = district * 3 + shift
    return offs[key], sizes[key]


def unit_table(m: Model) -> tuple[list[str], list[str], list[str], np.ndarray]:
    """Unit ids, types, home districts; and per-beat offset of the beat's first CSO."""
    ids, types, home = [], [], []
    for d in range(len(P.DISTRICTS)):
        for s, letter in enumerate("ABC"):
            for k in range(int(m.roster[d, s])):
                ids.append(f"{d + 1}{letter}{k + 1:02d}")
                types.append("sworn")
                home.append(P.DISTRICTS[d])
    cso_off = np.zeros(len(m.city.beat_ids), dtype=int)
    per_d = np.zeros(len(P.DISTRICTS), dtype=int)
    for b in range(len(m.city.beat_ids)):
        d = m.city.beat_district[b]
        cso_off[b] = len(ids)
        for _ in range(int(m.cso_count[b])):
            per_d[d] += 1
            ids.append(f"CSO{d + 1}-{per_d[d]:02d}")
            types.append("cso")
            home.append(P.DISTRICTS[d])
    return ids, types, home, cso_off


def generate_calls(con: duckdb.DuckDBPyConnection, m: Model, counts: np.ndarray,
                   staff_on: np.ndarray, ss: np.random.SeedSequence, progress: Progress,
                   p0: float, p1: float) -> dict:
    """Generate and insert calls and assignments, in chunks of whole days."""
    unit_ids, _types, _home, cso_off = unit_table(m)
    per_day = counts.reshape(P.N_DAYS, -1).sum(1)
    bounds = [0]
    acc_n = 0
    for d in range(P.N_DAYS):
        acc_n += per_day[d]
        if acc_n >= CHUNK_CALLS:
            bounds.append(d + 1)
            acc_n = 0
    if bounds[-1] != P.N_DAYS:
        bounds.append(P.N_DAYS)
    chunk_ss = ss.spawn(len(bounds) - 1)
    acc = _Acc()
    offset = 0

    def load(frames: list[tuple[str, pa.Table, str]]) -> None:
        for table, tbl, select in frames:
            _insert(con, table, tbl, select)

    # One loader thread inserts chunk k while NumPy generates chunk k + 1 (both release
    # the GIL). Only that thread touches the connection until the pool is shut down, and
    # at most one chunk waits, so memory stays bounded.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-load") as pool:
        pending = None
        for ci in range(len(bounds) - 1):
            d0, d1 = bounds[ci], bounds[ci + 1]
            rng = np.random.default_rng(chunk_ss[ci])
            n, frames = _calls_chunk(m, counts[d0:d1], d0, staff_on, rng, offset, unit_ids,
                                     cso_off, acc)
            offset += n
            if pending is not None:
                pending.result()
            pending = pool.submit(load, frames)
            del frames
            progress(p0 + (p1 - p0) * (ci + 1) / (len(bounds) - 1),
                     f"calls {offset:,} of {m.n_calls:,}")
        if pending is not None:
            pending.result()
    p12 = acc.arrays()
    post = p12["post"]
    # y1/y0: treated post-period calls only (the pooled figures); p12: every column,
    # from the start month on, for the beat-month truth
    return {"y1": p12["y1"][post], "y0": p12["y0"][post], "p12": p12}


def _calls_chunk(m: Model, counts: np.ndarray, d0: int, staff_on: np.ndarray,
                 rng: np.random.Generator, offset: int, unit_ids: list[str],
                 cso_off: np.ndarray, acc: _Acc) -> tuple[int, list[tuple[str, pa.Table, str]]]:
    """Generate one chunk of calls and assignments; return (n calls, frames to insert)."""
    nb = len(m.city.beat_ids)
    nt = P.N_TYPES
    flat = counts.ravel()
    nz = np.flatnonzero(flat)
    cell = np.repeat(nz, flat[nz])
    n = len(cell)
    day = (cell // (nb * nt)).astype(np.int32) + d0
    beat = ((cell // nt) % nb).astype(np.int32)
    ctype = (cell % nt).astype(np.int32)
    del cell
    officer = P.CT_IS_OFFICER[ctype]
    wd = _weekday(day)
    weekend = wd >= 5
    hour = _pick_rows(_hour_cum(), officer * 2 + weekend, rng.random(n)).astype(np.int32)
    received = day.astype(np.int64) * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    order = np.lexsort((beat, ctype, received))
    day, beat, ctype, officer, hour, received = (a[order] for a in (day, beat, ctype, officer, hour, received))
    wd, weekend = wd[order], weekend[order]
    district = m.city.beat_district[beat]
    post = day >= m.start_day[beat]

    # priority and source
    prio = (_pick_rows(m.prio_cum, ctype, rng.random(n)) + 1).astype(np.int16)
    pub = ~officer
    online = pub & (rng.random(n) < m.online_p[ctype])
    src911 = pub & ~online & (rng.random(n) < P.SOURCE_911_BY_PRIORITY[np.minimum(prio, 4) - 1])
    phone = pub & ~online & ~src911 & (m.online_p[ctype] > 0) & (rng.random(n) < P.TELEPHONE_REPORT_PROB)
    prio[online | phone] = 5
    source = np.where(officer, 3, np.where(online, 2, np.where(src911, 0, 1)))  # index into SOURCES
    dispatched = pub & (prio <= 4)

    # CSO primary (planted effect a)
    eligible = P.CT_ELIGIBLE[ctype]
    cso_hours = (hour >= P.CSO_HOURS[0]) & (hour < P.CSO_HOURS[1])
    tp = post & (m.cso_count[beat] > 0)
    cand = dispatched & eligible & tp
    cso_primary = cand & cso_hours & (rng.random(n) < P.CSO_PRIMARY_PROB)
    backup_p = np.zeros(n)
    for tier, p in P.CSO_BACKUP_PROB.items():
        backup_p[P.CT_TIER[ctype] == tier] = p
    cso_backup = cso_primary & (rng.random(n) < backup_p)

    # sworn units per call (the sworn version; CSO-primary calls replace it)
    pi = np.minimum(prio, 4) - 1
    extra = np.minimum(rng.poisson(m.units_lambda[ctype, pi]), 4)
    extra_oi = np.minimum(rng.poisson(P.OFFICER_EXTRA_UNITS_LAMBDA, n), 4)
    n_sworn_cf = np.where(dispatched, 1 + extra, np.where(officer, 1 + extra_oi, 0))
    n_units = np.where(cso_primary, 1 + cso_backup, n_sworn_cf).astype(np.int64)
    cancelled = dispatched & ~cso_primary & (prio >= 3) & (rng.random(n) < P.CANCELLED_PROB)

    # -- assignments (one row per unit) --
    na = int(n_units.sum())
    a_call = np.repeat(np.arange(n), n_units)
    starts = np.concatenate([[0], np.cumsum(n_units)[:-1]])
    j = np.arange(na) - np.repeat(starts, n_units)
    a_cso = cso_primary[a_call]
    a_is_cso_unit = a_cso & (j == 0)
    a_off = officer[a_call]
    a_p = pi[a_call]
    a_t = ctype[a_call]
    travel = _lognormal(rng, P.TRAVEL_MEAN_MIN[a_p] * 60, P.TRAVEL_SIGMA, na)
    travel = np.where(a_is_cso_unit, travel * P.CSO_TRAVEL_FACTOR, travel)
    travel = np.where(a_off, np.where(j == 0, 0.0, _lognormal(rng, 180.0, 0.5, na)), travel)
    lag = np.where(j == 0, 0.0, rng.exponential(90.0, na))
    role = np.where(j == 0, 1.0, 0.7) * np.where(a_is_cso_unit, 1.25, 1.0)
    onscene = _lognormal(rng, m.onscene_min[a_t] * 60, P.ONSCENE_SIGMA, na) * role
    # sworn committed hours per call, actual and counterfactual (no CSO), public calls only
    a_sworn = ~a_is_cso_unit
    committed = (lag + travel + onscene) / 3600.0
    sworn_h = np.bincount(a_call, weights=np.where(a_sworn & ~a_off, committed, 0.0), minlength=n)
    cf_h = sworn_h.copy()
    ic = np.flatnonzero(cso_primary)
    if len(ic):
        cf_mean_units = 1 + np.minimum(m.units_lambda[ctype[ic], pi[ic]], 4)
        cf_h[ic] = cf_mean_units * (P.TRAVEL_MEAN_MIN[pi[ic]] + m.onscene_min[ctype[ic]] * 0.85) / 60.0

    # load: sworn demand per district-hour vs sworn on duty (response depends on load)
    hb = (day - d0) * 24 + hour
    nh = int(counts.shape[0]) * 24
    key = hb * len(P.DISTRICTS) + district
    pubd = dispatched.astype(float)
    dem1 = np.bincount(key, weights=sworn_h * pubd, minlength=nh * len(P.DISTRICTS))
    dem0 = np.bincount(key, weights=cf_h * pubd, minlength=nh * len(P.DISTRICTS))
    on = staff_on[d0 * 24:d0 * 24 + nh].reshape(-1)  # (hour, district) flattened
    # a call waits on the load of the *other* calls in its district-hour
    g1 = _load_g(np.maximum(dem1[key] - sworn_h * pubd, 0) / on[key])
    g0 = _load_g(np.maximum(dem0[key] - cf_h * pubd, 0) / on[key])
    # Normalise so the counterfactual (no-CSO) load factor averages 1 over the chunk's
    # dispatched public calls: mean queue matches B2 whatever the city size.
    norm = g0[dispatched].mean() if dispatched.any() else 1.0
    g1, g0 = g1 / norm, g0 / norm
    qbase = _lognormal(rng, P.QUEUE_MEAN_MIN[pi] * 60, P.QUEUE_SIGMA, n)
    effect_b = np.where(tp & (prio <= 2), P.P12_QUEUE_FACTOR, 1.0)
    queue = np.where(cso_primary, qbase, qbase * g1) * effect_b
    queue = np.where(dispatched, np.maximum(queue, 5.0), 0.0)

    # absolute times (seconds since epoch start, float)
    first_disp = received + queue
    a_first = first_disp[a_call]
    a_disp = a_first + lag
    a_arr = a_disp + travel
    # CSO backup: a sworn unit requested after the CSO is on scene
    # sworn backups arrive after the primary (first arrival = primary, as in B2)
    later = ~a_cso & (j > 0)
    if later.any():
        prim_arr = a_arr[np.minimum(starts, na - 1)][a_call]
        a_arr = np.where(later, np.maximum(a_arr, prim_arr + rng.uniform(0, 120, na)), a_arr)
    bk = a_cso & (j == 1)
    if bk.any():
        cso_arr = a_arr[np.flatnonzero(bk) - 1]
        a_disp[bk] = cso_arr + rng.exponential(240.0, int(bk.sum()))
        a_arr[bk] = a_disp[bk] + travel[bk]
    a_enr = a_disp + np.where(a_off & (j == 0), 0.0, travel * rng.uniform(0, 0.2, na))
    a_clr = a_arr + onscene
    canc = cancelled[a_call]
    if canc.any():
        a_clr[canc] = np.maximum(a_disp[canc] + rng.uniform(60, 600, int(canc.sum())),
                                 a_enr[canc] + 30)
        a_arr[canc] = np.nan
    # whole seconds, monotone (floor keeps order)
    a_disp, a_enr, a_arr, a_clr = (np.floor(x) for x in (a_disp, a_enr, a_arr, a_clr))

    has = n_units > 0
    st = starts[has]
    c_disp = np.full(n, np.nan)
    c_enr = np.full(n, np.nan)
    c_arr = np.full(n, np.nan)
    c_clr = np.full(n, np.nan)
    if na:
        c_disp[has] = np.fmin.reduceat(a_disp, st)
        c_enr[has] = np.fmin.reduceat(a_enr, st)
        c_arr[has] = np.fmin.reduceat(a_arr, st)
        c_clr[has] = np.fmax.reduceat(a_clr, st)
    # P5 (online / telephone reports): no unit; closed after a while
    rep = ~has
    c_clr[rep] = received[rep] + _lognormal(rng, 4 * 3600.0, 1.0, int(rep.sum()))
    c_clr = np.floor(c_clr)

    # truth: P1–2 total response, actual vs counterfactual, in treated beats from the month
    # of the start on (the panel's first treated period is the month containing the start)
    month = P.month_index(day)
    sel = (dispatched & (prio <= 2) & ~np.isnan(c_arr) & (m.cso_count[beat] > 0)
           & (month >= P.month_index(m.start_day[beat])))
    if sel.any():
        i = np.flatnonzero(sel)
        # first arrival = the primary unit's (backups arrive after it), so the actual
        # total is floor(received + queue + primary travel) - received
        y1 = (c_arr[i] - received[i]) / 60.0
        # counterfactual, same draws: the queue without the programme (sworn load without
        # the CSO diversion, no P1–2 factor) and a sworn primary (a CSO primary's travel
        # draw was stretched by CSO_TRAVEL_FACTOR)
        q0 = np.maximum(qbase[i] * g0[i], 5.0)
        travel0 = travel[starts[i]] / np.where(cso_primary[i], P.CSO_TRAVEL_FACTOR, 1.0)
        y0 = (np.floor(received[i] + q0 + travel0) - received[i]) / 60.0
        y0 = np.where(tp[i], y0, y1)  # before the start (same month): no programme
        acc.y1.append(y1)
        acc.y0.append(y0)
        acc.beat.append(beat[i])
        acc.month.append(month[i])
        acc.post.append(tp[i])

    # unit ids
    a_dist = district[a_call]
    a_shift = _shift_of_hour(hour[a_call])
    off, size = _sworn_unit_index(m, a_dist, a_shift)
    k0 = (rng.random(n) * 1e9).astype(np.int64)[a_call]
    jj = np.where(a_cso, j - 1, j)  # sworn backup of a CSO call takes slot 0
    unit = off + (k0 + jj) % size
    a_beat = beat[a_call]
    cso_unit = cso_off[a_beat] + (k0 % np.maximum(m.cso_count[a_beat], 1))
    unit = np.where(a_is_cso_unit, cso_unit, unit)

    # call_type_initial: 7 % reclassified within the category
    init = ctype.copy()
    recl = pub & (rng.random(n) < P.RECLASSIFIED_PROB)
    alt, alt_n = _alternatives()
    ri = np.flatnonzero(recl & (alt_n[ctype] > 0))
    if len(ri):
        pick = (rng.random(len(ri)) * alt_n[ctype[ri]]).astype(int)
        init[ri] = alt[ctype[ri], pick]

    # disposition
    violent = P.CT_CATEGORY[ctype] == "violent"
    traffic_stop = ctype == int(np.flatnonzero(P.CT_CODE == "TRAFFIC_STOP")[0])
    grp = np.where(officer, np.where(traffic_stop, 3, 4), np.where(cso_primary, 2, np.where(violent, 1, 0)))
    disp = _pick_rows(_cum(P.DISPOSITION_PROBS), grp, rng.random(n))
    dl = list(P.DISPOSITIONS)
    disp = np.where(online, dl.index("ONLINE_REPORT"), disp)
    disp = np.where(phone, dl.index("TELEPHONE_REPORT"), disp)
    disp = np.where(cancelled, dl.index("CANCELLED"), disp)

    lon, lat = m.city.sample_points(beat, rng, hotspot_share=0.35)

    call_idx = np.arange(offset, offset + n, dtype=np.int64)
    calls = pa.table({
        "i": call_idx,
        "received_at": _ts(received),
        "dispatched_at": _ts(c_disp),
        "enroute_at": _ts(c_enr),
        "arrived_at": _ts(c_arr),
        "cleared_at": _ts(c_clr),
        "call_type": _dict(ctype, P.CT_CODE),
        "call_type_initial": _dict(init, P.CT_CODE),
        "priority": pa.array(prio),
        "source": _dict(source, SOURCES),
        "self_initiated": pa.array(officer),
        "disposition": _dict(disp, P.DISPOSITIONS),
        "district": _dict(district, P.DISTRICTS),
        "beat": _dict(beat, m.city.beat_ids),
        "lat": pa.array(lat),
        "lon": pa.array(lon),
    })
    assign = pa.table({
        "i": call_idx[a_call],
        "unit_id": _dict(unit, unit_ids),
        "dispatched_at": _ts(a_disp),
        "enroute_at": _ts(a_enr),
        "arrived_at": _ts(a_arr),
        "cleared_at": _ts(a_clr),
        "is_primary": pa.array(j == 0),
    })
    ids = "printf('RV%09d', i + 1), * EXCLUDE (i)"
    return n, [("calls", calls, ids), ("assignments", assign, ids)]


SOURCES = ("911", "non_emergency", "online", "officer_initiated")


def _alternatives() -> tuple[np.ndarray, np.ndarray]:
    """Per call type, the other public types of the same category (padded)."""
    alt = np.zeros((P.N_TYPES, P.N_TYPES), dtype=np.int32)
    alt_n = np.zeros(P.N_TYPES, dtype=np.int32)
    for t in range(P.N_TYPES):
        same = np.flatnonzero((P.CT_CATEGORY == P.CT_CATEGORY[t]) & ~P.CT_IS_OFFICER
                              & (np.arange(P.N_TYPES) != t))
        alt[t, : len(same)] = same
        alt_n[t] = len(same)
    return alt, alt_n


# -- staffing, activities ---------------------------------------------------------------------
def sworn_on_duty(m: Model, rng: np.random.Generator) -> np.ndarray:
    """Sworn units on duty per (date, shift, district): planned × attendance (binomial)."""
    days = np.arange(P.N_DAYS)
    plan = m.staff_plan[:, _weekday(days), :]  # (district, day, shift)
    plan = np.transpose(plan, (1, 2, 0))  # (day, shift, district)
    on = rng.binomial(plan.astype(np.int64), P.SWORN_ATTENDANCE)
    return np.maximum(on, 1)


def hourly_sworn(on: np.ndarray) -> np.ndarray:
    """(day*24 + hour, district) sworn units on duty, from the per-shift counts."""
    shift = _shift_of_hour(np.arange(24))
    return on[:, shift, :].reshape(P.N_DAYS * 24, -1).astype(float)


def cso_shifts(m: Model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One row per CSO shift worked: beat, CSO slot, day, start hour."""
    beats, ks = [], []
    for b in range(len(m.city.beat_ids)):
        for k in range(int(m.cso_count[b])):
            beats.append(b)
            ks.append(k)
    beats = np.array(beats, dtype=np.int64)
    ks = np.array(ks, dtype=np.int64)
    works = rng.random((len(beats), P.N_DAYS)) < P.CSO_SHIFTS_PER_WEEK / 7
    works &= np.arange(P.N_DAYS)[None, :] >= m.start_day[beats][:, None]
    r, d = np.nonzero(works)
    start_h = np.where(rng.random(len(r)) < 0.5, 7, 13)
    return {"beat": beats[r], "k": ks[r], "day": d.astype(np.int64), "start_h": start_h}


ACT_TYPES = ("foot_patrol", "vehicle_patrol", "traffic_control", "community_event",
             "outreach_referral", "nuisance_abatement", "report_writing")


def generate_activities(con, m: Model, shifts: dict, sworn_on: np.ndarray,
                        rng: np.random.Generator) -> dict:
    unit_ids, _t, _h, cso_off = unit_table(m)
    # CSO activity slots
    ns = len(shifts["beat"])
    slots = P.CSO_SLOTS_PER_SHIFT
    s_idx = np.repeat(np.arange(ns), slots)
    slot = np.tile(np.arange(slots), ns)
    b = shifts["beat"][s_idx]
    ps = m.patrol_share[b]
    other_p = np.array([0.10, 0.10, 0.30, 0.20, 0.30])  # traffic, event, outreach, nuisance, report
    u = rng.random(len(b))
    is_patrol = u < ps
    oth = _pick_rows(_cum(other_p[None]), np.zeros(len(b), dtype=int), (u - ps) / np.maximum(1 - ps, 1e-9))
    atype = np.where(is_patrol, 0, oth + 2)
    dur_h = 2.0 * rng.uniform(0.75, 1.0, len(b))
    start_s = (shifts["day"][s_idx] * 86400 + shifts["start_h"][s_idx] * 3600
               + slot * 7200 + rng.uniform(0, 0.25, len(b)) * 3600)
    end_s = start_s + dur_h * 3600
    contacts = np.full(len(b), -1)
    contacts = np.where(atype == 0, rng.poisson(3.0, len(b)), contacts)
    contacts = np.where(atype == 3, rng.poisson(35.0, len(b)), contacts)
    contacts = np.where(atype == 4, 1 + rng.poisson(2.0, len(b)), contacts)
    contacts = np.where(atype == 5, rng.poisson(1.0, len(b)), contacts)
    unit = cso_off[b] + shifts["k"][s_idx]
    # sworn vehicle patrol: one row per sworn unit-shift on duty
    day_i, sh_i, d_i = np.nonzero(np.ones_like(sworn_on, dtype=bool))
    cnt = sworn_on[day_i, sh_i, d_i]
    r = np.repeat(np.arange(len(cnt)), cnt)
    jj = np.arange(len(r)) - np.repeat(np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt)
    vd, vs, vdist = day_i[r], sh_i[r], d_i[r]
    off, size = _sworn_unit_index(m, vdist, vs)
    vunit = off + jj % size
    beats_of = [np.flatnonzero(m.city.beat_district == d) for d in range(len(P.DISTRICTS))]
    bt = np.stack(beats_of)  # (district, 6)
    vbeat = bt[vdist, rng.integers(0, bt.shape[1], len(r))]
    vstart = (vd * 86400 + np.array(P.SHIFT_START_HOURS)[vs] * 3600
              + rng.uniform(0.5, 2.0, len(r)) * 3600)
    vend = vstart + _lognormal(rng, 3.0 * 3600, 0.4, len(r))

    beat_all = np.concatenate([b, vbeat])
    start_all = np.concatenate([start_s, vstart])
    end_all = np.concatenate([end_s, vend])
    type_all = np.concatenate([atype, np.full(len(r), 1)])
    unit_all = np.concatenate([unit, vunit])
    contacts_all = np.concatenate([contacts, np.full(len(r), -1)])
    order = np.lexsort((unit_all, start_all))
    beat_all, start_all, end_all, type_all, unit_all, contacts_all = (
        a[order] for a in (beat_all, start_all, end_all, type_all, unit_all, contacts_all))
    lon, lat = m.city.sample_points(beat_all, rng, hotspot_share=0.3)
    na = len(beat_all)
    tbl = pa.table({
        "i": np.arange(na, dtype=np.int64),
        "unit_id": _dict(unit_all, unit_ids),
        "activity_type": _dict(type_all, ACT_TYPES),
        "started_at": _ts(start_all),
        "ended_at": _ts(end_all),
        "district": _dict(m.city.beat_district[beat_all], P.DISTRICTS),
        "beat": _dict(beat_all, m.city.beat_ids),
        "lat": pa.array(lat),
        "lon": pa.array(lon),
        "contacts": pa.array(contacts_all, mask=contacts_all < 0, type=pa.int32()),
    })
    _insert(con, "activities", tbl, "printf('A%09d', i + 1), * EXCLUDE (i)")
    # realised dose: CSO foot-patrol hours per week after start, per treated beat
    fp = atype == 0
    hours = np.bincount(b[fp], weights=dur_h[fp], minlength=len(m.city.beat_ids))
    weeks = np.maximum(P.N_DAYS - m.start_day, 0) / 7.0
    realised = np.where(weeks > 0, hours / np.where(weeks > 0, weeks, 1), 0.0)
    return {"n": na, "realised_dose": realised}


def insert_staffing(con, m: Model, sworn_on: np.ndarray, shifts: dict) -> int:
    nd = len(P.DISTRICTS)
    hs = hourly_sworn(sworn_on)  # (day*24+hour, district)
    # CSO on duty per (day*24+hour, district) from the shift rows (10 hours each)
    rep = np.repeat(np.arange(len(shifts["day"])), P.CSO_SHIFT_HOURS)
    hh = np.tile(np.arange(P.CSO_SHIFT_HOURS), len(shifts["day"]))
    abs_h = shifts["day"][rep] * 24 + shifts["start_h"][rep] + hh
    dist = m.city.beat_district[shifts["beat"][rep]]
    cso = np.bincount(abs_h * nd + dist, minlength=P.N_DAYS * 24 * nd)[: P.N_DAYS * 24 * nd]
    cso = cso.reshape(P.N_DAYS * 24, nd).astype(float)
    hidx, didx = np.nonzero(np.ones_like(hs, dtype=bool))
    vals = np.concatenate([hs.ravel(), cso.ravel()])
    utype = np.concatenate([np.zeros(hs.size, dtype=int), np.ones(cso.size, dtype=int)])
    hidx2 = np.concatenate([hidx, hidx])
    didx2 = np.concatenate([didx, didx])
    keep = (utype == 0) | (vals > 0)
    day = hidx2[keep] // 24
    dates = (np.datetime64(P.START_DATE.isoformat(), "D") + day.astype("timedelta64[D]"))
    tbl = pa.table({
        "date": pa.array(dates, type=pa.date32()),
        "hour": pa.array((hidx2[keep] % 24).astype(np.int16)),
        "district": _dict(didx2[keep], P.DISTRICTS),
        "unit_type": _dict(utype[keep], ("sworn", "cso")),
        "on_duty_hours": pa.array(vals[keep]),
    })
    _insert(con, "staffing", tbl)
    return tbl.num_rows


# -- incidents ----------------------------------------------------------------------------
def incident_cell_counts(m: Model, rng: np.random.Generator) -> np.ndarray:
    """Incidents per (day, beat, offence), flattened: one multinomial draw of exactly
    ``n_calls × INCIDENTS_PER_CALL`` over the intensity with the planted effects (the
    low-level property patrol effect, the violent-crime null). The first draws of
    :func:`generate_incidents`; the calibration reads it directly (no database)."""
    nb = len(m.city.beat_ids)
    n_inc = int(round(m.n_calls * P.INCIDENTS_PER_CALL))
    cat = P.OFF_CATEGORY
    # violent crime concentrates in some beats, property follows the call weights
    bw_prop = m.beat_w_public / m.beat_w_public.sum()
    vw = m.population * rng.lognormal(0, 0.5, nb)
    bw_viol = vw / vw.sum()
    bw = np.where((cat == "violent")[None, :], bw_viol[:, None], bw_prop[:, None])  # (beat, off)
    ow = P.OFF_W / P.OFF_W.sum()
    lam = m.day_factor[:, None, None] * bw[None] * ow[None, None, :]
    post = np.arange(P.N_DAYS)[:, None] >= m.start_day[None, :]
    rr = np.where(post, np.exp(P.PROPERTY_BETA_PER_100H * m.dose_h_week / 100.0)[None, :], 1.0)
    lam[:, :, P.OFF_LOW_LEVEL] *= rr[:, :, None]
    lam[:, :, cat == "violent"] *= np.where(post, P.VIOLENT_RATE_RATIO, 1.0)[:, :, None]
    return rng.multinomial(n_inc, lam.ravel() / lam.sum())


def property_rate_ratios(m: Model) -> dict:
    """The planted low-level property rate ratios: per beat, per cohort and on average,
    each weighted by the beat's counterfactual expected low-level count in its treated
    periods (what a ratio of sums over treated beat-periods estimates)."""
    bw_prop = m.beat_w_public / m.beat_w_public.sum()
    post = np.arange(P.N_DAYS)[:, None] >= m.start_day[None, :]
    base = (m.day_factor[:, None] * bw_prop[None, :])  # (day, beat) ∝ expected low-level
    w = (base * post).sum(0)
    rr_b = np.exp(P.PROPERTY_BETA_PER_100H * m.dose_h_week / 100.0)
    avg_rr = float((w * rr_b).sum() / w.sum()) if w.sum() > 0 else 1.0
    by_cohort = {}
    for d, name in enumerate(P.DISTRICTS):
        sel = (m.city.beat_district == d) & (w > 0)
        if sel.any():
            by_cohort[name] = float((w[sel] * rr_b[sel]).sum() / w[sel].sum())
    return {"avg_rr": avg_rr, "rr_beat": rr_b, "rr_cohort": by_cohort}


def generate_incidents(con, m: Model, rng: np.random.Generator) -> dict:
    nb = len(m.city.beat_ids)
    cat = P.OFF_CATEGORY
    counts = incident_cell_counts(m, rng)
    nz = np.flatnonzero(counts)
    cell = np.repeat(nz, counts[nz])
    no = len(P.OFF_NAME)
    day = cell // (nb * no)
    beat = (cell // no) % nb
    off = cell % no
    n = len(cell)
    weekend = _weekday(day) >= 5
    viol = cat[off] == "violent"
    # violent: night/weekend profile; others: daytime profile
    row = np.where(viol, 1, weekend.astype(int))
    hour = _pick_rows(_hour_cum(), row, rng.random(n))
    occ = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    rep = occ + np.floor(_lognormal(rng, P.OFF_DELAY_H[off] * 3600, 1.0, n))
    order = np.lexsort((beat, off, occ))
    occ, rep, beat, off = occ[order], rep[order], beat[order], off[order]
    lon, lat = m.city.sample_points(beat, rng, hotspot_share=0.45)
    tbl = pa.table({
        "i": np.arange(n, dtype=np.int64),
        "occurred_at": _ts(occ),
        "reported_at": _ts(rep),
        "offense": _dict(off, P.OFF_NAME),
        "offense_category": _dict(off, P.OFF_CATEGORY),
        "district": _dict(m.city.beat_district[beat], P.DISTRICTS),
        "beat": _dict(beat, m.city.beat_ids),
        "lat": pa.array(lat),
        "lon": pa.array(lon),
    })
    _insert(con, "incidents", tbl, "printf('I%09d', i + 1), * EXCLUDE (i)")
    return {"n": n, **property_rate_ratios(m)}


# -- small tables ----------------------------------------------------------------------------
def _insert_rows(con, table: str, columns: list[str], rows: list[tuple]) -> None:
    """Insert a few Python rows in one statement (executemany is slow on a file)."""
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    if "end_date" in data:  # all NULL: give Arrow the type
        data["end_date"] = pa.array(data["end_date"], type=pa.date32())
    if "old_value" in data:
        data["old_value"] = pa.array(data["old_value"], type=pa.string())
    if "parent_id" in data:
        data["parent_id"] = pa.array(data["parent_id"], type=pa.string())
    _insert(con, table, pa.table(data))


def insert_reference(con, m: Model) -> None:
    city = m.city
    rows = []
    for d, name in enumerate(P.DISTRICTS):
        pop = int(m.population[city.beat_district == d].sum())
        rows.append((name, "district", f"District {d + 1}", None,
                     shapely.to_geojson(city.district_polys[d]), pop))
    for b, bid in enumerate(city.beat_ids):
        d = city.beat_district[b]
        rows.append((bid, "beat", f"Beat {bid}", P.DISTRICTS[d],
                     shapely.to_geojson(city.beat_polys[b]), int(m.population[b])))
    _insert_rows(con, "areas", ["area_id", "level", "name", "parent_id", "geometry", "population"], rows)

    ct = [(str(P.CT_CODE[t]), P.CT_DESC[t], str(P.CT_CATEGORY[t]), str(P.CT_TIER[t]),
           bool(P.CT_SENSITIVE[t])) for t in range(P.N_TYPES)]
    _insert_rows(con, "call_types", ["call_type", "description", "category", "cso_tier", "sensitive"], ct)
    hist = []
    for code, desc, cat, tier, sens in ct:
        for field, val in (("description", desc), ("category", cat), ("cso_tier", tier),
                           ("sensitive", str(sens).lower())):
            hist.append((1, dt.datetime(2022, 1, 1), "demo generator", code, field, None, val))
    _insert_rows(con, "call_type_history", ["version", "changed_at", "changed_by", "call_type", "field",
                                            "old_value", "new_value"], hist)

    ids, types, home, _ = unit_table(m)
    _insert_rows(con, "units", ["unit_id", "unit_type", "home_district"],
                 list(zip(ids, types, home, strict=True)))

    dep = []
    for b, bid in enumerate(city.beat_ids):
        if m.cso_count[b] > 0:
            start = P.START_DATE + dt.timedelta(days=int(m.start_day[b]))
            dep.append((bid, start, None, int(m.cso_count[b]),
                        f"CSO programme phase {P.DISTRICTS[city.beat_district[b]]}; planned "
                        f"foot patrol {m.dose_h_week[b]:.1f} h/week"))
    _insert_rows(con, "deployments", ["area_id", "start_date", "end_date", "cso_count", "note"], dep)


def _to_jsonable(x):
    if isinstance(x, dict):
        return {k: _to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_to_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return round(float(x), 6)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (dt.date, dt.datetime)):
        return x.isoformat()
    return x


def build(con: duckdb.DuckDBPyConnection, n_calls: int, seed: int,
          progress: Progress | None = None) -> dict:

    progress = progress or _noop
    con.execute("SET enable_progress_bar = false")  # our caller shows its own progress
    root = np.random.SeedSequence(seed)
    s_city, s_vol, s_calls, s_inc, s_act, s_staff = root.spawn(6)
    progress(0.0, "city geometry")
    m = build_model(n_calls, seed, np.random.default_rng(s_city))
    counts = call_cell_counts(m, np.random.default_rng(s_vol))
    rng_staff = np.random.default_rng(s_staff)
    sworn_on = sworn_on_duty(m, rng_staff)
    shifts = cso_shifts(m, rng_staff)
    progress(0.05, "reference tables")
    insert_reference(con, m)
    insert_staffing(con, m, sworn_on, shifts)
    calls_info = generate_calls(con, m, counts, hourly_sworn(sworn_on), s_calls, progress, 0.07, 0.75)
    progress(0.76, "incidents")
    inc = generate_incidents(con, m, np.random.default_rng(s_inc))
    progress(0.80, "activities")
    act = generate_activities(con, m, shifts, sworn_on, np.random.default_rng(s_act))
    progress(0.84, "call facts")
    facts.refresh_derived(con)
    truth = _to_jsonable(make_truth(con, m, calls_info, inc, act))
    con.execute("INSERT OR REPLACE INTO settings VALUES ('demo_truth', ?)",
                [json.dumps(truth, sort_keys=True)])
    db.set_database_kind(con, "demo")  # pages show a synthetic-data notice
    # Example command-staff goals so the KPI cards show value, target and gap out of the
    # box (PRODUCT.md section 3, "targets"); a department replaces them on the Targets tab.
    con.executemany(
        "INSERT OR REPLACE INTO kpi_targets (metric, target, direction, set_by) VALUES (?, ?, ?, ?)",
        [["p1_median", 7.0, "at_most", "demo city example"],
         ["cso_share", 15.0, "at_least", "demo city example"]],
    )
    # The programme's claims, answered and stored now, so that the first visit of the
    # Evaluation page reads them (analytics.evaluation.claims_cache).
    progress(0.95, "programme claims")
    from analytics.evaluation.claims_cache import store_claims

    store_claims(con)
    progress(1.0, "done")
    return truth
