"""The truth file: every planted effect with its definition, parameter and expected value,
plus realised calibration figures measured on the generated tables."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np

from analytics.synthetic import _params as P

#: The response-time cap of the Evaluation panel and the Response times page (PRODUCT.md
#: section 3: 24 h; analytics.evaluation.panel.DEFAULT_CAP_MIN, checked by a test — not
#: imported, which would load the estimators and statsmodels into every demo build).
DEFAULT_CAP_MIN = 24 * 60.0

TREATED_PERIOD_SQL = (
    "-- treated beat-periods: beat in deployments and day >= start_date\n"
    "JOIN deployments d ON d.area_id = c.beat AND c.received_at >= d.start_date"
)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def make_truth(con: duckdb.DuckDBPyConnection, m, calls_info: dict, inc: dict, act: dict) -> dict:
    city = m.city
    treated = [b for b in range(len(city.beat_ids)) if m.cso_count[b] > 0]
    never = [city.beat_ids[b] for b in range(len(city.beat_ids)) if m.cso_count[b] == 0]

    def start_of(b: int) -> str:
        return (P.START_DATE + dt.timedelta(days=int(m.start_day[b]))).isoformat()

    cohorts = {}
    for d, name in enumerate(P.DISTRICTS):
        s = P.DEPLOYMENT_STARTS[name]
        cohorts[name] = {
            "start_date": s.isoformat() if s else None,
            "beats": [city.beat_ids[b] for b in np.flatnonzero(city.beat_district == d)],
        }
    deployments = [{
        "beat": city.beat_ids[b],
        "district": P.DISTRICTS[city.beat_district[b]],
        "start_date": start_of(b),
        "cso_count": int(m.cso_count[b]),
        "foot_patrol_share": float(m.patrol_share[b]),
        "planned_foot_patrol_h_per_week": float(m.dose_h_week[b]),
        "realised_foot_patrol_h_per_week": float(act["realised_dose"][b]),
        "low_level_property_rate_ratio": float(inc["rr_beat"][b]),
    } for b in treated]
    treated_ids = [city.beat_ids[b] for b in treated]

    y1, y0 = calls_info["y1"], calls_info["y0"]

    # (a) expected CSO share: p × share of eligible dispatched calls received in CSO hours
    hs = np.stack([P.HOUR_PUBLIC_WEEKDAY, P.HOUR_PUBLIC_WEEKEND])
    hs = hs / hs.sum(1, keepdims=True)
    in_h = hs[:, P.CSO_HOURS[0]:P.CSO_HOURS[1]].sum(1)
    wk = P.WEEKDAY_SHARE / P.WEEKDAY_SHARE.sum()
    frac_hours = float(wk[:5].sum() * in_h[0] + wk[5:].sum() * in_h[1])
    exp_share = P.CSO_PRIMARY_PROB * frac_hours
    elig_types = [str(c) for c in P.CT_CODE[P.CT_ELIGIBLE]]
    realised_a = _rows(con, """
        SELECT avg(cso_primary::INT), avg(cso_backup::INT) FILTER (WHERE cso_primary),
               count(*)
        FROM call_facts c
        JOIN deployments d ON d.area_id = c.beat AND c.day >= d.start_date
        WHERE c.eligible AND NOT c.self_initiated AND c.n_units > 0""")[0]
    realised_a_all = _rows(con, """
        SELECT avg(cso_primary::INT)
        FROM call_facts c
        JOIN deployments d ON d.area_id = c.beat AND c.day >= d.start_date
        WHERE c.eligible AND NOT c.self_initiated""")[0][0]
    outside = _rows(con, """
        SELECT count(*) FILTER (WHERE cso_primary) FROM call_facts c
        LEFT JOIN deployments d ON d.area_id = c.beat AND c.day >= d.start_date
        WHERE d.area_id IS NULL""")[0][0]
    tier_w = {t: p for t, p in P.CSO_BACKUP_PROB.items()}
    exp_backup = _rows(con, """
        SELECT cso_tier, count(*) FROM call_facts c
        JOIN deployments d ON d.area_id = c.beat AND c.day >= d.start_date
        WHERE c.eligible AND NOT c.self_initiated AND c.n_units > 0
        GROUP BY 1""")
    tot = sum(n for _, n in exp_backup)
    exp_backup_rate = sum(tier_w.get(t, 0) * n for t, n in exp_backup) / tot if tot else None

    # (b) response time: pooled over all treated post-period calls, and the estimand of
    # the Evaluation page (beat-month medians, Callaway & Sant'Anna simple aggregation)
    med_y1 = float(np.median(y1)) if len(y1) else None
    med_y0 = float(np.median(y0)) if len(y0) else None
    bm = beat_month_truth(calls_info["p12"], m.start_day,
                          [P.DISTRICTS[d] for d in city.beat_district])

    # realised calibration
    cal = _calibration(con)

    def effect(name, outcome, definition, parameter, expected, measure, **extra):
        d = {"name": name, "outcome": outcome, "definition": definition,
             "treated_beats": treated_ids, "start_dates": {c: v["start_date"] for c, v in cohorts.items()},
             "parameter": parameter, "expected": expected, "how_to_measure": measure}
        d.update(extra)
        return d

    effects = {
        "cso_primary_share": effect(
            "cso_primary_share",
            "share of eligible, dispatched (priority 1–4, at least one unit), public-initiated "
            "calls whose primary unit is a CSO (call_facts.cso_primary)",
            "In a treated beat on or after its start date, each eligible call (call_types."
            "cso_tier <> 'sworn_only') received 07:00–22:59 gets a CSO as primary with "
            f"probability {P.CSO_PRIMARY_PROB}; 0 at night, 0 in untreated beat-periods. Of "
            "CSO-primary calls a sworn unit is added as backup with probability by tier "
            f"{P.CSO_BACKUP_PROB}.",
            {"cso_primary_prob_in_cso_hours": P.CSO_PRIMARY_PROB,
             "cso_hours": f"{P.CSO_HOURS[0]:02d}:00-{P.CSO_HOURS[1] - 1:02d}:59",
             "backup_prob_by_tier": P.CSO_BACKUP_PROB},
            {"share": exp_share, "share_outside_treated_beat_periods": 0.0,
             "backup_rate": exp_backup_rate},
            "SELECT avg(cso_primary::INT) FROM call_facts c JOIN deployments d ON d.area_id = "
            "c.beat AND c.day >= d.start_date WHERE eligible AND NOT self_initiated AND n_units > 0",
            realised={"share": realised_a[0], "backup_rate": realised_a[1], "n_calls": realised_a[2],
                      "share_of_all_eligible_public_calls_incl_reports": realised_a_all,
                      "cso_primary_calls_outside_treated": outside},
            eligible_call_types=elig_types,
        ),
        "p12_response_time": effect(
            "p12_response_time",
            "total response time in minutes (received -> first unit on scene, call_facts."
            "total_s / 60) of public-initiated priority 1–2 calls with an arrival",
            "Queue time (received -> first dispatch) of every public priority 1–2 call in a "
            f"treated beat on or after its start date is multiplied by {P.P12_QUEUE_FACTOR}. "
            "Queue time also grows with sworn load (district-hour sworn committed hours ÷ "
            "sworn on duty, factor 1/(1-u)); the CSO diversion lowers that load a little in "
            "treated districts, which is included in the expected change. Travel time is "
            "unchanged, except that a CSO primary (effect cso_primary_share) travels "
            f"{P.CSO_TRAVEL_FACTOR}× as long as a sworn one would (the counterfactual "
            "of those calls has the sworn travel).",
            {"queue_time_factor": P.P12_QUEUE_FACTOR},
            {"att_beat_month_median_min": bm["att"],
             "att_beat_month_median_by_cohort": bm["by_cohort"],
             "mean_beat_month_median_treated_post_min": bm["mean_actual"],
             "mean_beat_month_median_treated_post_counterfactual_min": bm["mean_counterfactual"],
             "n_beat_months": bm["n_cells"],
             "n_group_time_cells": bm["n_group_time"],
             "att_median_total_min": (med_y1 - med_y0) if med_y1 is not None else None,
             "median_total_min_treated_post": med_y1,
             "median_total_min_treated_post_counterfactual": med_y0,
             "att_mean_total_min": float(np.mean(y1 - y0)) if len(y1) else None,
             "ratio_of_medians": (med_y1 / med_y0) if med_y0 else None,
             "att_mean_log_total": float(np.mean(np.log(y1) - np.log(y0))) if len(y1) else None,
             "n_calls": int(len(y1))},
            "The Evaluation page (claim 'urgent response times improved', metric "
            "p12_median_response_min) estimates expected.att_beat_month_median_min: "
            "Callaway & Sant'Anna on beat × month medians of total_s/60 (public priority 1–2 "
            "calls with a dispatch and an arrival, no negative segment, total ≤ 24 h; month "
            "of received_at), not-yet/never-treated comparison beats, simple aggregation. Its "
            "truth: for every treated beat-month from the start month on, median(actual) − "
            "median(counterfactual) of the calls in that cell (potential outcomes from the "
            "generator, same draws); ATT(g, t) = mean over the cohort's beats with calls in "
            "month t; overall = Σ ATT(g, t)·n_g / Σ n_g over post cells (n_g = beats in "
            "cohort g), the simple aggregation's weights. att_beat_month_median_by_cohort is "
            "θ(g) = mean over t of ATT(g, t) (the group aggregation's parts). "
            "mean_beat_month_median_treated_post_min is the same average of the actual cell "
            "medians (what the panel holds). For reference, pooled over all treated "
            "post-period calls: att_median_total_min = median(actual) − "
            "median(counterfactual), a different estimand (a quantile comparison of all "
            "calls); att_mean_log_total = mean of log(actual) − log(counterfactual), what a "
            "regression of log total time on beat and month fixed effects and a "
            "treated-post indicator estimates.",
        ),
        "low_level_property": effect(
            "low_level_property",
            f"count of incidents with offense in {list(P.LOW_LEVEL_PROPERTY)} by occurred_at, "
            "per beat and period (e.g. beat-month)",
            "In treated beat-periods the expected count is multiplied by rate ratio "
            f"exp({P.PROPERTY_BETA_PER_100H} × dose / 100) where dose = the beat's planned CSO "
            "foot-patrol hours per week (deployments[].planned_foot_patrol_h_per_week; the "
            "activities table realises it: sum of foot_patrol hours per week after start).",
            {"beta_log_rr_per_100_patrol_h_per_week": P.PROPERTY_BETA_PER_100H},
            {"average_rate_ratio": inc["avg_rr"], "average_pct_change": (inc["avg_rr"] - 1) * 100,
             "rate_ratio_by_cohort": inc["rr_cohort"],
             "rate_ratio_by_beat": {city.beat_ids[b]: float(inc["rr_beat"][b]) for b in treated}},
            "Staggered DiD / Poisson regression of beat-month counts with beat and month "
            "fixed effects: log RR = beta × dose/100 (dose-response) or the treated indicator "
            "(average effect ≈ log(average_rate_ratio)). average_rate_ratio weights each "
            "treated beat's rate ratio by its counterfactual low-level count in treated "
            "periods (what a ratio of sums over all treated beat-periods estimates); "
            "rate_ratio_by_cohort does the same within each start-date cohort (group ATTs). "
            "Estimators that weight beats or cohorts differently (e.g. two-way fixed effects "
            "under staggered timing) land on a different average of the same beat ratios.",
        ),
        "suspicious_calls": effect(
            "suspicious_calls",
            "count of calls with call_type = 'SUSPICIOUS' (public-initiated) by received_at, "
            "per beat and period",
            "Reporting effect: expected count multiplied by "
            f"{P.SUSPICIOUS_RATE_RATIO} in treated beat-periods. No change in crime.",
            {"rate_ratio": P.SUSPICIOUS_RATE_RATIO},
            {"rate_ratio": P.SUSPICIOUS_RATE_RATIO,
             "pct_change": (P.SUSPICIOUS_RATE_RATIO - 1) * 100},
            "DiD of beat-month counts (Poisson, beat and month fixed effects) or WDD.",
        ),
        "officer_initiated": effect(
            "officer_initiated",
            "count of officer-initiated calls (calls.self_initiated, source "
            "'officer_initiated') by received_at, per beat and period; per 100 sworn on-duty "
            "hours at district level (sworn staffing is not changed by the programme)",
            "Expected count multiplied by "
            f"{P.OFFICER_INITIATED_RATE_RATIO} in treated beat-periods (sworn time freed).",
            {"rate_ratio": P.OFFICER_INITIATED_RATE_RATIO},
            {"rate_ratio": P.OFFICER_INITIATED_RATE_RATIO,
             "pct_change": (P.OFFICER_INITIATED_RATE_RATIO - 1) * 100},
            "DiD of beat-month counts, or district-month officer-initiated calls per 100 "
            "sworn on-duty hours (staffing table).",
        ),
        "violent_crime": effect(
            "violent_crime",
            "count of incidents with offense_category = 'violent' by occurred_at, per beat "
            "and period",
            "Planted null: no change in treated beat-periods.",
            {"rate_ratio": P.VIOLENT_RATE_RATIO},
            {"rate_ratio": 1.0, "pct_change": 0.0},
            "Any design above; the CI should cover 1 (0 %).",
        ),
    }

    n_calls = _rows(con, "SELECT count(*) FROM calls")[0][0]
    return {
        "generator": "analytics.synthetic",
        "generator_version": 1,
        "city": P.CITY_NAME,
        "seed": m.seed,
        "n_calls": n_calls,
        "n_incidents": inc["n"],
        "n_activities": act["n"],
        "period": {"start": P.START_DATE.isoformat(), "end": P.END_DATE.isoformat()},
        "population": int(m.population.sum()),
        "calls_per_1000_residents_per_year": P.CALLS_PER_1000_PER_YEAR,
        "unit_id_rule": P.UNIT_ID_RULE,
        "cohorts": cohorts,
        "treated_beats": treated_ids,
        "never_treated_beats": never,
        "deployments": deployments,
        "note": (
            "Call and incident totals are fixed (one multinomial draw over day × beat × type "
            "cells), so rate-ratio effects act on relative intensities: ratios of ratios "
            "(DiD) recover them exactly in expectation, while untreated levels shift by <1 %. "
            "Effects start on the deployment start date with no ramp-up and stay constant."
        ),
        "effects": effects,
        "calibration_realised": cal,
    }


def beat_month_truth(p12: dict[str, np.ndarray], start_day: np.ndarray,
                     cohort_label: list[str], cap_min: float = DEFAULT_CAP_MIN) -> dict:
    """Truth of the Evaluation page's urgent-response estimand, from potential outcomes.

    ``p12``: per call (public P1–2 with an arrival, in a treated beat, from the month of
    its start on) ``y1``/``y0`` (minutes with/without the programme), ``beat`` (index),
    ``month`` (index from the first month). As in the panel, a call counts in a cell when
    its total is ≤ ``cap_min`` (actual cell: y1, counterfactual cell: y0).

    τ(b, t) = median y1 − median y0 of the cell; ATT(g, t) = mean of τ over the beats of
    cohort g (first treated month g) with calls in month t (the estimator's cell uses the
    beats observed in t); overall = Σ ATT(g, t)·n_g / Σ n_g over the post cells, n_g = all
    beats of cohort g (the simple aggregation's weight P(G = g)). The same weights applied
    to the actual (counterfactual) cell medians give ``mean_actual``
    (``mean_counterfactual``). ``by_cohort``: θ(g) = mean over t of ATT(g, t), keyed by
    ``cohort_label`` of the cohort's beats.
    """
    out = {"att": None, "by_cohort": {}, "mean_actual": None, "mean_counterfactual": None,
           "n_cells": 0, "n_group_time": 0}
    cohort = np.where(start_day < P.N_DAYS, P.month_index(np.minimum(start_day, P.N_DAYS - 1)), -1)
    beat = p12["beat"].astype(np.int64)
    key = beat * 10_000 + p12["month"]
    order = np.argsort(key, kind="stable")
    key, y1, y0 = key[order], p12["y1"][order], p12["y0"][order]
    bounds = np.flatnonzero(np.diff(key)) + 1
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for k, a, c in zip(np.split(key, bounds), np.split(y1, bounds), np.split(y0, bounds),
                       strict=True):
        if not len(k):
            continue
        a, c = a[a <= cap_min], c[c <= cap_min]
        if not len(a) or not len(c):
            # no actual call within the cap: the panel has no value here (an empty
            # counterfactual cell alone would need a 24 h wait: never in practice)
            continue
        b, t = int(k[0] // 10_000), int(k[0] % 10_000)
        cells.setdefault((int(cohort[b]), t), []).append((float(np.median(a)), float(np.median(c))))
    if not cells:
        return out
    n_g = {g: int((cohort == g).sum()) for g, _ in cells}
    num = num1 = num0 = den = 0.0
    per_g: dict[int, list[float]] = {}
    for (g, _t), vals in sorted(cells.items()):
        v = np.array(vals)
        att_gt = float(np.mean(v[:, 0] - v[:, 1]))
        num += n_g[g] * att_gt
        num1 += n_g[g] * float(np.mean(v[:, 0]))
        num0 += n_g[g] * float(np.mean(v[:, 1]))
        den += n_g[g]
        per_g.setdefault(g, []).append(att_gt)
    label = {g: "+".join(sorted({cohort_label[b] for b in np.flatnonzero(cohort == g)}))
             for g in per_g}
    out.update(att=num / den, mean_actual=num1 / den, mean_counterfactual=num0 / den,
               by_cohort={label[g]: float(np.mean(v)) for g, v in sorted(per_g.items())},
               n_cells=int(sum(len(v) for v in cells.values())), n_group_time=len(cells))
    return out


def _calibration(con: duckdb.DuckDBPyConnection) -> dict:
    r = _rows(con, """
        SELECT avg(self_initiated::INT), avg((source = 'online')::INT) FROM call_facts""")[0]
    mix = _rows(con, """
        SELECT priority, count(*) FROM call_facts
        WHERE NOT self_initiated AND n_units > 0 GROUP BY 1 ORDER BY 1""")
    tot = sum(n for _, n in mix)
    seg = _rows(con, """
        SELECT c.priority, avg(queue_s) / 60, avg(travel_s) / 60, avg(total_s) / 60,
               median(total_s) / 60, quantile_cont(total_s, 0.9) / 60
        FROM call_facts c
        LEFT JOIN deployments d ON d.area_id = c.beat AND c.day >= d.start_date
        WHERE NOT c.self_initiated AND c.n_units > 0 AND c.total_s IS NOT NULL
          AND d.area_id IS NULL
        GROUP BY 1 ORDER BY 1""")
    p1_15 = _rows(con, """
        SELECT avg((total_s <= 900)::INT) FROM call_facts
        WHERE priority = 1 AND NOT self_initiated AND total_s IS NOT NULL""")[0][0]
    units = _rows(con, """
        SELECT self_initiated, avg(n_units),
               60 * sum(sworn_unit_hours + cso_unit_hours) / sum(n_units)
        FROM call_facts WHERE n_units > 0 GROUP BY 1 ORDER BY 1""")
    season = _rows(con, """
        SELECT sum((month(day) = 8)::INT) / sum((month(day) = 2)::INT * 31.0 / 28.25)
        FROM call_facts""")[0][0]
    peak = _rows(con, """
        SELECT hour FROM call_facts WHERE NOT self_initiated AND weekday <= 5
        GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")[0][0]
    low = _rows(con, """
        SELECT hour FROM call_facts WHERE NOT self_initiated AND weekday <= 5
        GROUP BY 1 ORDER BY count(*) ASC LIMIT 1""")[0][0]
    wd = _rows(con, "SELECT weekday, count(*) FROM call_facts GROUP BY 1 ORDER BY 1")
    wtot = sum(n for _, n in wd)
    util = _rows(con, """
        WITH c AS (SELECT district, sum(sworn_unit_hours) h FROM call_facts GROUP BY 1),
             s AS (SELECT district, sum(on_duty_hours) h FROM staffing
                   WHERE unit_type = 'sworn' GROUP BY 1)
        SELECT sum(c.h) / sum(s.h) FROM c JOIN s USING (district)""")[0][0]
    return {
        "officer_initiated_share": r[0],
        "online_share": r[1],
        "public_dispatched_priority_mix": {str(p): n / tot for p, n in mix},
        "untreated_public_segments_min": {
            str(p): {"mean_queue": q, "mean_travel": t, "mean_total": tt, "median_total": md,
                     "p90_total": p90}
            for p, q, t, tt, md, p90 in seg},
        "p1_share_within_15_min": p1_15,
        "units_per_call": {("officer" if s else "public"): u for s, u, _ in units},
        "committed_min_per_unit": {("officer" if s else "public"): mm for s, _, mm in units},
        "august_vs_february_daily_calls": season,
        "weekday_peak_hour": peak,
        "weekday_low_hour": low,
        "weekday_share": {str(w): n / wtot for w, n in wd},
        "sworn_utilisation_all_calls": util,
    }
