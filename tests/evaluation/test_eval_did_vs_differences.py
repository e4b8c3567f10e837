"""Callaway & Sant'Anna against an independent implementation: the PyPI package
``differences`` (0.3.0, test-only dependency; skipped when it is not installed).

Reference numbers are computed by that package in the test; ours must agree to 1e-8 for
every ATT(g,t), its standard error, and all four aggregations with their SEs, on several
simulated panels (heterogeneous, dynamic effects), for both comparison groups.
"""

from __future__ import annotations

import warnings

import pytest

from analytics.evaluation import staggered_did
from tests.evaluation.test_eval_did import GROUPS, T, dynamic_het, make_panel

differences = pytest.importorskip("differences")

AGGS = [("simple", "simple"), ("group", "cohort"), ("dynamic", "event"), ("calendar", "time")]


def _reference(df, control):
    from differences import ATTgt

    d = df.assign(cohort=df["first"].where(df["first"] > 0)).set_index(["area", "period"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        att = ATTgt(data=d, cohort_column="cohort")
        att.fit(formula="y", control_group=control, progress_bar=False)
        gt = att.results()
        gt.columns = ["att", "se", "lo", "hi", "flag"]
        gt = gt.reset_index()
        aggs = {}
        for ours, theirs in AGGS:
            a = att.aggregate(theirs, overall=True)
            aggs[ours] = (float(a.iloc[0, 0]), float(a.iloc[0, 1]))
        ev = att.aggregate("event")
        ev.columns = ["att", "se", "lo", "hi", "flag"]
    return gt, aggs, ev


@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_matches_differences_package(seed, control):
    df = make_panel(seed, GROUPS, T, dynamic_het)
    ref_gt, ref_aggs, ref_ev = _reference(df, control)
    res = staggered_did(df, "y", "area", "period", "first", control=control)
    ours = res.group_time.set_index(["group", "time"])
    assert len(ours) == len(ref_gt)
    for row in ref_gt.itertuples():
        mine = ours.loc[(row.cohort, row.time)]
        assert mine["att"] == pytest.approx(row.att, abs=1e-8)
        assert mine["se"] == pytest.approx(row.se, rel=1e-6)
    for kind, (est, se) in ref_aggs.items():
        a = res.aggregate(kind)
        assert a.estimate == pytest.approx(est, abs=1e-8), kind
        assert a.se == pytest.approx(se, rel=1e-6), kind
    es = res.event_study.set_index("event_time")
    for e, row in ref_ev.iterrows():
        assert es.loc[e, "estimate"] == pytest.approx(row["att"], abs=1e-8)
        assert es.loc[e, "se"] == pytest.approx(row["se"], rel=1e-6)
