"""The Estimate result type: sentences with units, tidy rows, immutability; estimators never
mutate their inputs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from analytics.errors import OptionError
from analytics.evaluation import Estimate, did_2x2, staggered_did
from analytics.evaluation._format import fmt_number


def test_sentence_difference_significant():
    e = Estimate(-1.4, 0.4, -2.2, -0.6, 0.001, 900, "pre/post",
                 label="Priority-1 median response time", unit="minutes")
    assert e.sentence() == ("Priority-1 median response time fell by 1.4 minutes "
                            "(95 % CI 0.6 to 2.2; p = 0.001).")


def test_sentence_not_significant_and_baseline():
    e = Estimate(0.3, 0.4, -0.5, 1.1, 0.45, 50, "x", label="calls", unit="calls",
                 baseline=10.0)
    # the CI includes no change: "no clear change" comes first (analytics.evaluation.wording)
    assert e.sentence() == ("No clear change in calls: the estimate is a rise of 0.3 calls "
                            "(95 % CI −0.5 to 1.1; p = 0.45), a 3 % rise from a baseline of "
                            "10.0 calls.")


def test_sentence_ratio_and_log_scales():
    r = Estimate(0.8, 0.05, 0.72, 0.89, 0.0001, 100, "x", label="thefts", scale="ratio")
    assert r.sentence() == ("Thefts fell by 20.0 % (rate ratio 0.800, 95 % CI 0.720 to 0.890; "
                            "p < 0.001).")
    lg = Estimate(math.log(1.2), 0.05, math.log(1.1), math.log(1.3), 0.002, 100, "x",
                  label="reports", scale="log")
    assert "rose by 20.0 % (rate ratio 1.20, 95 % CI 1.10 to 1.30" in lg.sentence()
    row = lg.to_frame().iloc[0]
    assert row["ratio"] == pytest.approx(1.2) and row["ratio_ci_low"] == pytest.approx(1.1)


def test_frozen_and_with_caveats_returns_copy():
    e = Estimate(1.0, 0.1, 0.8, 1.2, 0.01, 5, "x", caveats=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.estimate = 2.0  # type: ignore[misc]
    f = e.with_caveats("b", "a")
    assert e.caveats == ("a",) and f.caveats == ("a", "b")
    with pytest.raises(OptionError):
        Estimate(1, 1, 0, 2, 0.5, 1, "x", scale="odds")
    assert e.to_frame().shape[0] == 1


def test_fmt_number():
    assert fmt_number(1234.4) == "1,234"
    assert fmt_number(-0.0123) == "−0.012"
    assert fmt_number(float("nan")) == "n/a"


def test_estimators_do_not_mutate_inputs():
    rng = np.random.default_rng(0)
    rows = [(u, t, (3 if u < 4 else 0), rng.normal(), (u < 4), (t >= 3))
            for u in range(8) for t in range(1, 6)]
    df = pd.DataFrame(rows, columns=["area", "t", "first", "y", "tr", "post"])
    before = df.copy(deep=True)
    staggered_did(df, "y", "area", "t", "first").aggregate("simple")
    did_2x2(df, "y", "area", "t", "tr", "post")
    pd.testing.assert_frame_equal(df, before)


def test_inference_fields_default_and_adjusted_p_drives_significance():
    e = Estimate(-0.2, 0.05, -0.3, -0.1, 0.01, 24, "x", scale="log")
    assert (e.cluster_level, e.n_clusters, e.inference_method, e.min_attainable_p,
            e.p_adjusted, e.adjustment) == (None, None, "", None, None, "")
    assert e.significant and e.p_verdict == 0.01
    adj = dataclasses.replace(e, p_adjusted=0.04 * 4, adjustment="Holm, 4 claims",
                              cluster_level="district", n_clusters=4, min_attainable_p=1 / 24)
    assert not adj.significant and adj.p_verdict == pytest.approx(0.16)
    row = adj.to_frame().iloc[0]
    assert row["cluster_level"] == "district" and row["n_clusters"] == 4
    assert row["adjustment"] == "Holm, 4 claims" and row["min_attainable_p"] == pytest.approx(1 / 24)
