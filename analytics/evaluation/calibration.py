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

from analytics.evaluation.randomization import assignments, cs_batch, ri_p_value

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
             effect: bool, schedule: tuple[int, ...] = SCHEDULE, T: int = N_MONTHS
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One panel: (Y units × T, each unit's cluster index, each cluster's schedule)."""
    C = len(schedule)
    uc = np.repeat(np.arange(C), beats)
    sched = np.asarray(schedule)
    g = sched[uc]
    t = np.arange(1, T + 1)
    treated = (g[:, None] > 0) & (t[None, :] >= g[:, None])
    season = 0.15 * np.sin(2 * np.pi * t / 12)
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


def calibrate_cities(n_cities: int, *, n_calls: int = 60_000, seed0: int = 1000,
                     workdir: str | None = None,
                     progress: Callable[[int, dict], None] | None = None) -> dict:
    """Build ``n_cities`` demo cities (seeds ``seed0 …``) and check the claims' design.

    For each planted count effect (minor offences, suspicious calls, officer-initiated
    calls) and the planted null (violent crime): the recommended analysis's CI (the
    claims' inference) contains the planted rate ratio. Returns per-outcome coverage,
    the null's significance rate and the seconds taken; ``progress(i, city)`` is called
    after each city with its own results (covered flags, violent-crime p-value).
    """
    import json

    from analytics import db, synthetic
    from analytics.evaluation.analysis import analyse

    keys = {"low_level_property": ("low_level_property", "average_rate_ratio"),
            "suspicious_calls": ("suspicious_calls", "rate_ratio"),
            "officer_initiated_calls": ("officer_initiated", "rate_ratio"),
            "violent_crime": ("violent_crime", "rate_ratio")}
    covered = dict.fromkeys(keys, 0)
    null_sig = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for i in range(n_cities):
            path = Path(tmp) / f"city{i}.duckdb"
            synthetic.build_demo_database(path, n_calls=n_calls, seed=seed0 + i)
            con = db.connect(path, read_only=True)
            try:
                truth = json.loads(db.setting(con, "demo_truth") or "{}")["effects"]
                city: dict = {"seed": seed0 + i}
                for metric, (tk, field) in keys.items():
                    rr = truth[tk]["expected"][field]
                    e = analyse(con, metric, full=False).estimate
                    hit = bool(math.exp(e.ci_low) < rr < math.exp(e.ci_high))
                    covered[metric] += hit
                    city[metric] = {"planted": rr, "estimate": math.exp(e.estimate),
                                    "ci": [math.exp(e.ci_low), math.exp(e.ci_high)],
                                    "covered": hit, "p": e.p_value}
                    if metric == "violent_crime":
                        null_sig += e.p_value <= e.alpha
                if progress is not None:
                    progress(i, city)
            finally:
                con.close()
            path.unlink(missing_ok=True)
    return {"cities": n_cities, "n_calls": n_calls,
            "coverage": {k: v / n_cities for k, v in covered.items()},
            "null_significant": null_sig / n_cities,
            "seconds": time.perf_counter() - t0}


def report_lines(rows: list[dict], cities: dict | None = None) -> list[str]:
    """A Markdown table of :func:`calibrate` rows (and the demo-city summary)."""
    def pct(x: float) -> str:
        return "—" if x is None or not np.isfinite(x) else f"{100 * x:.1f} %"

    out = ["| claim | district shock SD | beats | panels | false positives | "
           "95 % CI coverage | pre-trend rejections |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['claim']} | {r['shock_sd']:.2f} | {r['beats']} | {r['panels']} | "
                   f"{pct(r['fpr'])} | {pct(r['coverage'])} | {pct(r['pretrend'])} |")
    if cities:
        out += ["", f"Demo cities: {cities['cities']} seeds, {cities['n_calls']:,} calls each "
                    f"({cities['seconds']:.0f} s)", "",
                "| outcome | planted effect inside the 95 % CI |", "|---|---|"]
        out += [f"| {k} | {pct(v)} |" for k, v in cities["coverage"].items()]
        out.append(f"| violent crime (planted null) significant | "
                   f"{pct(cities['null_significant'])} |")
    return out
