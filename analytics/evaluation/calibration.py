"""Calibration evidence: how often the claims' inference is wrong, by simulation.

``python -m analytics calibrate --panels N`` (analytics/cli.py) runs :func:`calibrate`
and prints :func:`report_lines`; the table is in docs/evaluation.md.

Panels are shaped like the demo city: 4 districts × ``beats`` beats, 48 months, districts
starting in months 19, 28 and 40 (as 2023-07, 2024-04, 2025-04 from 2022-01) and one never;
beat-level Poisson counts with a seasonal cycle and a district-month shock shared by the
district's beats (log-scale SD ``shock_sd`` ∈ {0, 0.05, 0.10}); response times are a
normal beat-month median with the same shock in minutes (×10). Every claim's design is
the one the page uses: Callaway–Sant'Anna, not-yet-treated comparison, pre-period-mean
base, ratio of ratios for counts, difference for minutes, and randomization inference
over the districts' start dates (24 assignments).

Per claim and shock size:

- **false-positive rate**: share of panels with no effect whose p-value is ≤ 0.05;
- **coverage**: share of panels with a planted effect whose 95 % CI contains it. The CI is
  the set of effects the test does not reject (test inversion), so "the CI covers τ" is
  "the test of τ does not reject": each panel needs one test at the planted value;
- **pre-trend rejection**: share of panels with parallel trends whose pre-trend test has
  p ≤ 0.05 (24 beats and, with ``beats_large``, 96).

Demo cities (:func:`calibrate_cities`) build the real synthetic city with different seeds
and check that the planted effects are inside the claims' CIs and the planted null
(violent crime) is not significant.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analytics.evaluation.randomization import assignments, cs_batch, ri_p_value, westfall_young

#: Demo-shaped schedule: first treated month (1-based) of each district; 0 = never.
SCHEDULE = (19, 28, 40, 0)
N_MONTHS = 48
SHOCKS = (0.0, 0.05, 0.10)


@dataclass(frozen=True)
class ClaimSim:
    """How one claim's outcome is simulated."""

    key: str
    kind: str  # "count" or "minutes"
    level: float  # mean count per beat-month, or median minutes
    planted: float  # rate ratio for counts, minutes for response times


CLAIM_SIMS: tuple[ClaimSim, ...] = (
    ClaimSim("minor_offences", "count", 3.0, 0.85),
    ClaimSim("suspicious_reports", "count", 6.0, 1.15),
    ClaimSim("sworn_time", "count", 40.0, 1.10),
    ClaimSim("urgent_response", "minutes", 11.0, -0.5),
)


def simulate(sim: ClaimSim, rng: np.random.Generator, *, beats: int, shock_sd: float,
             effect: bool, schedule: tuple[int, ...] = SCHEDULE, T: int = N_MONTHS,
             shock: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One panel: (Y units × T, each unit's cluster index, each cluster's schedule).

    ``shock`` (clusters × T, log scale) replaces the panel's own district-month shock, so
    several outcomes can share one (:func:`calibrate_family`)."""
    C = len(schedule)
    uc = np.repeat(np.arange(C), beats)
    sched = np.asarray(schedule)
    g = sched[uc]
    t = np.arange(1, T + 1)
    treated = (g[:, None] > 0) & (t[None, :] >= g[:, None])
    season = 0.15 * np.sin(2 * np.pi * t / 12)
    if shock is not None:
        shock = np.asarray(shock)[uc]
    else:
        shock = rng.normal(0.0, shock_sd, (C, T))[uc] if shock_sd > 0 else 0.0
    if sim.kind == "count":
        base = sim.level * rng.uniform(0.6, 1.4, (uc.size, 1))
        mu = base * np.exp(season[None, :] + shock)
        if effect:
            mu = mu * np.where(treated, sim.planted, 1.0)
        return rng.poisson(mu).astype(float), uc, sched
    base = sim.level + rng.normal(0, 1.0, (uc.size, 1))
    y = base + 2.0 * season[None, :] + 10 * shock + rng.normal(0, 1.5, (uc.size, T))
    if effect:
        y = y + np.where(treated, sim.planted, 0.0)
    return y, uc, sched


def _test_at(Y: np.ndarray, GA: np.ndarray, tau: float, effect: str, D: np.ndarray
             ) -> float:
    Yt = Y * np.exp(-tau * D) if effect == "ratio" else Y - tau * D
    s, _ = cs_batch(Yt, GA, effect=effect, pre_periods=0)
    return ri_p_value(s)


def calibrate(panels: int, *, beats: int = 6, beats_large: int = 24, seed: int = 0,
              shocks: tuple[float, ...] = SHOCKS, alpha: float = 0.05) -> list[dict]:
    """Simulated false-positive rate, coverage and pre-trend rejection (see module doc).

    Returns one row per claim (and one per pre-trend design) and shock size:
    ``claim``, ``shock_sd``, ``beats``, ``panels``, ``fpr``, ``coverage``, ``pretrend``.
    """
    sched = np.asarray(SCHEDULE)
    SA, _ = assignments(sched)
    rows = []
    for sd in shocks:
        for k, sim in enumerate(CLAIM_SIMS):
            eff = "ratio" if sim.kind == "count" else "difference"
            tau0 = math.log(sim.planted) if sim.kind == "count" else sim.planted
            rng = np.random.default_rng([seed, k, int(round(sd * 1000))])
            rej = cov = pre_rej = 0
            for _ in range(panels):
                Y, uc, _s = simulate(sim, rng, beats=beats, shock_sd=sd, effect=False)
                GA = SA[:, uc]
                s, pre = cs_batch(Y, GA, effect=eff)
                rej += ri_p_value(s) <= alpha
                pre_rej += ri_p_value(pre) <= alpha
                Y1, _, _ = simulate(sim, rng, beats=beats, shock_sd=sd, effect=True)
                D = ((GA[0][:, None] > 0)
                     & (np.arange(1, N_MONTHS + 1)[None, :] >= GA[0][:, None])).astype(float)
                cov += _test_at(Y1, GA, tau0, eff, D) > alpha
            rows.append({"claim": sim.key, "shock_sd": sd, "beats": beats * len(SCHEDULE),
                         "panels": panels, "fpr": rej / panels, "coverage": cov / panels,
                         "pretrend": pre_rej / panels})
        if beats_large:
            sim = CLAIM_SIMS[0]
            rng = np.random.default_rng([seed, 99, int(round(sd * 1000))])
            pre_rej = 0
            for _ in range(panels):
                Y, uc, _s = simulate(sim, rng, beats=beats_large, shock_sd=sd, effect=False)
                _, pre = cs_batch(Y, SA[:, uc], effect="ratio")
                pre_rej += ri_p_value(pre) <= alpha
            rows.append({"claim": "pre-trend test only (minor offences)", "shock_sd": sd,
                         "beats": beats_large * len(SCHEDULE), "panels": panels,
                         "fpr": math.nan, "coverage": math.nan, "pretrend": pre_rej / panels})
    return rows


def calibrate_family(panels: int, *, beats: int = 6, seed: int = 0,
                     shocks: tuple[float, ...] = SHOCKS, alpha: float = 0.05) -> list[dict]:
    """The four claims as one family: family-wise error and power of the verdicts.

    Each simulated city draws the four outcomes of :data:`CLAIM_SIMS` on the same 24 beats
    with **one** district-month shock shared by all four (the strongest dependence between
    the claims: a bad month in a district moves every outcome), and tests them together
    as the claims do: Westfall–Young step-down max-T over the same 24 assignments
    (:func:`~analytics.evaluation.randomization.westfall_young`), Holm beside it.

    - **family-wise error**: panels with no effect anywhere in which *any* claim gets a
      verdict other than "not shown" (adjusted p < α; the CI then excludes no change, as it
      is the inverted unadjusted test);
    - **power**: panels with every planted effect in which a claim is "consistent with the
      claim" (adjusted p < α and the estimate on the claimed side), per claim.

    Returns one row per shock size: ``shock_sd``, ``panels``, ``fwer_wy``, ``fwer_holm``,
    ``fwer_unadjusted`` and ``power_wy``, ``power_holm``, ``power_unadjusted`` (dicts by
    claim key).
    """
    from analytics.evaluation.claims import holm

    sched = np.asarray(SCHEDULE)
    SA, _ = assignments(sched)
    keys = [c.key for c in CLAIM_SIMS]
    direction = {"minor_offences": -1, "suspicious_reports": 1, "sworn_time": 1,
                 "urgent_response": -1}
    rows = []
    for sd in shocks:
        rng = np.random.default_rng([seed, 77, int(round(sd * 1000))])
        fwe = dict.fromkeys(("wy", "holm", "unadjusted"), 0)
        power = {k: dict.fromkeys(keys, 0) for k in fwe}
        for _ in range(panels):
            for effect in (False, True):
                shock = rng.normal(0.0, sd, (len(SCHEDULE), N_MONTHS)) if sd > 0 else None
                stats = []
                for sim in CLAIM_SIMS:
                    Y, uc, _s = simulate(sim, rng, beats=beats, shock_sd=sd, effect=effect,
                                         shock=shock)
                    st, _ = cs_batch(Y, SA[:, uc], pre_periods=0,
                                     effect="ratio" if sim.kind == "count" else "difference")
                    stats.append(st)
                raw = [ri_p_value(st) for st in stats]
                adj = {"wy": westfall_young(stats), "holm": holm(raw), "unadjusted": raw}
                for how, ps in adj.items():
                    if not effect:
                        fwe[how] += any(p < alpha for p in ps)
                        continue
                    for k, st, p in zip(keys, stats, ps, strict=True):
                        power[how][k] += bool(p < alpha and np.sign(st[0]) == direction[k])
        rows.append({"shock_sd": sd, "panels": panels,
                     **{f"fwer_{h}": v / panels for h, v in fwe.items()},
                     **{f"power_{h}": {k: v / panels for k, v in pw.items()}
                        for h, pw in power.items()}})
    return rows


def mc_se(rate: float, n: int) -> float:
    """Monte-Carlo (binomial) standard error of a rate measured on ``n`` panels."""
    if n <= 0 or not np.isfinite(rate):
        return math.nan
    return math.sqrt(rate * (1 - rate) / n)


def calibrate_cities(n_cities: int, *, n_calls: int = 60_000, seed0: int = 1000,
                     workdir: str | None = None,
                     progress: Callable[[int, dict], None] | None = None) -> dict:
    """Build ``n_cities`` demo cities (seeds ``seed0 …``) and answer the claims on each.

    Per city: the four claims exactly as the page answers them (:func:`answer_claims`,
    Westfall–Young family adjustment; standing checks off), whether each claim's 95 % CI
    contains the generator's planted value — the rate ratio of the truth file for the
    three counts, and for urgent response the estimand itself,
    ``att_beat_month_median_min`` — each claim's verdict, and the planted null (violent
    crime, same design) and whether it is significant. Returns per-outcome coverage, the
    null's significance rate, the share of cities whose claim is "consistent" (under
    Westfall–Young and, for comparison, under Holm) and the seconds taken;
    ``progress(i, city)`` is called after each city with its own results.
    """
    import json

    from analytics import db, synthetic
    from analytics.evaluation.analysis import analyse
    from analytics.evaluation.claims import answer_claims

    truth_of = {"minor_offences": ("low_level_property", "average_rate_ratio"),
                "suspicious_reports": ("suspicious_calls", "rate_ratio"),
                "sworn_time": ("officer_initiated", "rate_ratio"),
                "urgent_response": ("p12_response_time", "att_beat_month_median_min")}
    done: list[dict] = []
    t0 = time.perf_counter()

    def interval(e) -> tuple[float, float, float]:
        if e.scale == "log":
            return math.exp(e.estimate), math.exp(e.ci_low), math.exp(e.ci_high)
        return e.estimate, e.ci_low, e.ci_high

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for i in range(n_cities):
            path = Path(tmp) / f"city{i}.duckdb"
            t1 = time.process_time()
            synthetic.build_demo_database(path, n_calls=n_calls, seed=seed0 + i)
            con = db.connect(path, read_only=True)
            try:
                truth = json.loads(db.setting(con, "demo_truth") or "{}")["effects"]
                city: dict = {"seed": seed0 + i, "n_calls": n_calls}
                for r in answer_claims(con, checks=False):
                    tk, field = truth_of[r.claim.key]
                    planted = float(truth[tk]["expected"][field])
                    e = r.estimate
                    if e is None:
                        city[r.claim.key] = {"planted": planted, "verdict": r.verdict,
                                             "covered": False, "holm_consistent": False}
                        continue
                    est, lo, hi = interval(e)
                    holm_p = e.detail("p_holm")
                    city[r.claim.key] = {
                        "planted": planted, "estimate": est, "ci": [lo, hi],
                        "covered": bool(lo < planted < hi), "p": e.p_value,
                        "p_wy": e.p_adjusted, "p_holm": holm_p, "verdict": r.verdict,
                        "holm_consistent": bool(np.isfinite(holm_p) and holm_p < e.alpha and
                                                np.sign(e.estimate) == r.claim.direction)}
                e = analyse(con, "violent_crime", full=False).estimate
                est, lo, hi = interval(e)
                city["violent_crime"] = {"planted": 1.0, "estimate": est, "ci": [lo, hi],
                                         "covered": bool(lo < 1.0 < hi), "p": e.p_value,
                                         "significant": bool(e.p_value <= e.alpha)}
                city["cpu_s"] = time.process_time() - t1
                done.append(city)
                if progress is not None:
                    progress(i, city)
            finally:
                con.close()
            path.unlink(missing_ok=True)
    return summarize_cities(done, seconds=time.perf_counter() - t0)


#: Outcomes of a generator-level city: panel metric → planted rate ratio ("avg" = the
#: city's own average low-level property rate ratio, as in its truth file).
GENERATOR_OUTCOMES = {"low_level_property": "avg", "suspicious_calls": "suspicious",
                      "officer_initiated_calls": "officer", "violent_crime": "null"}


def generator_city(n_calls: int, seed: int) -> dict:
    """The demo city's beat-month counts straight from its generator, without a database.

    The same random streams as :func:`analytics.synthetic.build_demo_database` with this
    ``n_calls`` and ``seed`` (city model, call volumes, incidents), aggregated to
    beat × month: minor (low-level property) offences, violent crime, suspicious-activity
    calls and officer-initiated calls — the counts the Evaluation panels read (a test
    checks they are equal on a built city). About 0.4 CPU-s per city whatever its size
    (a built 60k-call city: about 4), so thousands of cities can be checked.

    Returns ``{"Y": {metric: beats × 48 array}, "beats": ids, "unit_cluster": district
    index per beat, "schedule": 1-based first treated month per district (0 = never),
    "planted": {metric: rate ratio}}``.
    """
    from analytics.synthetic import _build as B
    from analytics.synthetic import _params as P

    s_city, s_vol, _calls, s_inc, _act, _staff = np.random.SeedSequence(seed).spawn(6)
    m = B.build_model(n_calls, seed, np.random.default_rng(s_city))
    calls = B.call_cell_counts(m, np.random.default_rng(s_vol))  # (day, beat, call type)
    nb = len(m.city.beat_ids)
    inc = B.incident_cell_counts(m, np.random.default_rng(s_inc)).reshape(
        P.N_DAYS, nb, len(P.OFF_NAME))
    month = P.month_index(np.arange(P.N_DAYS))
    n_months = int(month.max()) + 1

    def monthly(x: np.ndarray) -> np.ndarray:  # (day, beat) → (beat, month)
        out = np.zeros((n_months, nb))
        np.add.at(out, month, x)
        return out.T

    susp = int(np.flatnonzero(P.CT_CODE == "SUSPICIOUS")[0])
    Y = {"low_level_property": monthly(inc[:, :, P.OFF_LOW_LEVEL].sum(-1)),
         "violent_crime": monthly(inc[:, :, P.OFF_CATEGORY == "violent"].sum(-1)),
         "suspicious_calls": monthly(calls[:, :, susp]),
         "officer_initiated_calls": monthly(calls[:, :, P.CT_IS_OFFICER].sum(-1))}
    uc = np.asarray(m.city.beat_district)
    sched = np.zeros(len(P.DISTRICTS), dtype=int)
    for d in range(len(P.DISTRICTS)):
        sd = int(m.start_day[uc == d].min())
        sched[d] = 0 if sd >= P.N_DAYS else int(month[sd]) + 1
    planted = {"low_level_property": B.property_rate_ratios(m)["avg_rr"],
               "suspicious_calls": P.SUSPICIOUS_RATE_RATIO,
               "officer_initiated_calls": P.OFFICER_INITIATED_RATE_RATIO,
               "violent_crime": P.VIOLENT_RATE_RATIO}
    return {"Y": Y, "beats": list(m.city.beat_ids), "unit_cluster": uc, "schedule": sched,
            "planted": planted}


def calibrate_generator(n_cities: int, *, n_calls: int = 60_000, seed0: int = 1000,
                        alpha: float = 0.05,
                        progress: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Demo cities at the generator level (:func:`generator_city`, seeds ``seed0 …``),
    each count outcome analysed with the claims' design and randomization inference over
    the districts' start dates: whether the planted rate ratio is inside the 95 % CI (the
    inverted test does not reject it) and the p-value of no change. Returns one dict per
    city (the format of :func:`calibrate_cities`, without urgent response, which needs
    the simulated calls)."""
    names = {"low_level_property": "minor_offences", "suspicious_calls": "suspicious_reports",
             "officer_initiated_calls": "sworn_time", "violent_crime": "violent_crime"}
    out = []
    for i in range(n_cities):
        t1 = time.process_time()
        c = generator_city(n_calls, seed0 + i)
        SA, _ = assignments(c["schedule"])
        GA = SA[:, c["unit_cluster"]]
        D = ((GA[0][:, None] > 0)
             & (np.arange(1, N_MONTHS + 1)[None, :] >= GA[0][:, None])).astype(float)
        city: dict = {"seed": seed0 + i, "n_calls": n_calls, "level": "generator"}
        for metric, Y in c["Y"].items():
            rr = float(c["planted"][metric])
            st, _ = cs_batch(Y, GA, effect="ratio", pre_periods=0)
            p0 = ri_p_value(st)
            hit = bool(_test_at(Y, GA, math.log(rr), "ratio", D) > alpha)
            city[names[metric]] = {"planted": rr, "estimate": math.exp(st[0]), "covered": hit,
                                   "p": p0, "significant": bool(p0 <= alpha)}
        city["cpu_s"] = time.process_time() - t1
        out.append(city)
        if progress is not None:
            progress(i, city)
    return out


#: The claims' outcomes and the planted null, in the order of the city tables.
CITY_OUTCOMES = ("minor_offences", "suspicious_reports", "sworn_time", "urgent_response",
                 "violent_crime")


def summarize_cities(cities: list[dict], *, seconds: float = math.nan) -> dict:
    """Coverage, the null's significance rate and the share of "consistent" verdicts
    (Westfall–Young, and Holm for comparison) over per-city results of
    :func:`calibrate_cities` (e.g. read back from ``--cities-jsonl``)."""
    n = len(cities)
    claims = CITY_OUTCOMES[:-1]

    def share(pred) -> float:
        return sum(bool(pred(c)) for c in cities) / n if n else math.nan

    have = [k for k in CITY_OUTCOMES if cities and all(k in c for c in cities)]
    verdicts = [k for k in claims if k in have and all("verdict" in c[k] for c in cities)]
    return {"cities": n, "n_calls": sorted({c["n_calls"] for c in cities}),
            "seed0": min((c["seed"] for c in cities), default=None),
            "seeds": sorted(c["seed"] for c in cities),
            "coverage": {k: share(lambda c, k=k: c[k]["covered"]) for k in have},
            "null_significant": share(lambda c: c["violent_crime"]["significant"]),
            "consistent_wy": {k: share(lambda c, k=k: c[k]["verdict"] == "supported")
                              for k in verdicts},
            "consistent_holm": {k: share(lambda c, k=k: c[k]["holm_consistent"])
                                for k in verdicts},
            "cpu_s_per_city": (sum(c.get("cpu_s", 0.0) for c in cities) / n) if n else math.nan,
            "seconds": seconds}


def _pct_se(x: float, n: int) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    return f"{100 * x:.1f} % ± {100 * mc_se(x, n):.1f}"


def report_lines(rows: list[dict], cities: dict | None = None,
                 family: list[dict] | None = None) -> list[str]:
    """Markdown tables of :func:`calibrate` rows, :func:`calibrate_family` rows and the
    demo-city summary; every rate with its Monte-Carlo SE (± one binomial SE)."""
    out = ["| claim | district shock SD | beats | panels | false positives | "
           "95 % CI coverage | pre-trend rejections |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        n = r["panels"]
        out.append(f"| {r['claim']} | {r['shock_sd']:.2f} | {r['beats']} | {n} | "
                   f"{_pct_se(r['fpr'], n)} | {_pct_se(r['coverage'], n)} | "
                   f"{_pct_se(r['pretrend'], n)} |")
    if family:
        keys = list(family[0]["power_wy"])
        out += ["", "| district shock SD (shared by the 4 outcomes) | panels | family-wise "
                    "error: Westfall–Young | Holm | unadjusted | "
                + " | ".join(f"power {k}: WY / Holm" for k in keys) + " |",
                "|---|---|---|---|---|" + "---|" * len(keys)]
        for r in family:
            n = r["panels"]
            out.append(f"| {r['shock_sd']:.2f} | {n} | {_pct_se(r['fwer_wy'], n)} | "
                       f"{_pct_se(r['fwer_holm'], n)} | {_pct_se(r['fwer_unadjusted'], n)} | "
                       + " | ".join(f"{100 * r['power_wy'][k]:.1f} % / "
                                    f"{100 * r['power_holm'][k]:.1f} %" for k in keys) + " |")
    if cities:
        n = cities["cities"]
        calls = cities["n_calls"]
        calls_txt = (", ".join(f"{c:,}" for c in calls) if isinstance(calls, list)
                     else f"{calls:,}")
        out += ["", f"Demo cities: {n} seeds from {cities.get('seed0')}, {calls_txt} calls "
                    f"each ({cities.get('cpu_s_per_city', math.nan):.1f} CPU-s per city)", "",
                "| outcome | planted value inside the 95 % CI | consistent: Westfall–Young | "
                "consistent: Holm |", "|---|---|---|---|"]
        for k, v in cities["coverage"].items():
            wy = cities.get("consistent_wy", {}).get(k)
            hm = cities.get("consistent_holm", {}).get(k)
            out.append(f"| {k} | {_pct_se(v, n)} | "
                       f"{'—' if wy is None else f'{100 * wy:.1f} %'} | "
                       f"{'—' if hm is None else f'{100 * hm:.1f} %'} |")
        out.append(f"| violent crime (planted null) significant | "
                   f"{_pct_se(cities['null_significant'], n)} | | |")
    return out
