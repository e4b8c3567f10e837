"""WDD test against published numbers.

Sources (numbers typed from the publications, not produced by our code):
- Wheeler & Ratcliffe (2018), Crime Science 7:11, the paper's worked example:
  control (308, 318), treated (207, 110), displacement control (150, 140),
  displacement treated (178, 157) -> estimate -118, SE sqrt(1568), z -2.98,
  95 % CI -196 to -40.
- R package ptools (apwheele/ptools), tests/testthat/test-wdd.R: the simple -10/-10/-20
  cases, "Time Weights" (-20, SE sqrt(115); Wheeler blog 2021-01-09), "Area Weights"
  (-99.69444444, 35.4280755, -2.813995483, -169.1321965, -30.25669241; blog 2021-02-23)
  and "Cumulative Harm" (-1721, 304.10360077, -5.65925558, -2317.03210507,
  -1124.96789493, tolerance 1e-5; blog 2020-11-19).
"""

from __future__ import annotations

import math

import pytest

from analytics.errors import InputDataError, OptionError
from analytics.evaluation import wdd, wdd_harm


def test_paper_example():
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157), alpha=0.05)
    assert r.total.estimate == -118
    assert r.total.se == pytest.approx(math.sqrt(1568), rel=1e-12)
    assert round(r.z, 2) == -2.98
    assert round(r.total.ci_low) == -196
    assert round(r.total.ci_high) == -40
    # local and displacement parts by hand: (110-207)-(318-308) = -107; (157-178)-(140-150) = -11
    assert r.local.estimate == -107
    assert r.displacement.estimate == -11
    assert r.local.se**2 == pytest.approx(308 + 318 + 207 + 110)
    assert r.total.p_value == pytest.approx(0.0029, abs=1e-4)  # 2*(1-Phi(2.98))


def test_default_alpha_is_ten_percent():
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157))
    assert r.total.alpha == 0.1
    # 90 % CI: -118 +- 1.6449 * 39.598 = (-183.1, -52.9)
    assert r.total.ci_low == pytest.approx(-183.13, abs=0.01)
    assert r.total.ci_high == pytest.approx(-52.87, abs=0.01)


@pytest.mark.parametrize(
    ("args", "part", "expected"),
    [
        (((20, 20), (20, 10)), "local", -10),
        (((20, 20), (20, 20), (20, 20), (20, 10)), "displacement", -10),
        (((20, 20), (20, 10), (20, 20), (20, 10)), "total", -20),
    ],
)
def test_ptools_simple_cases(args, part, expected):
    r = wdd(*args)
    assert getattr(r, part).estimate == expected


def test_ptools_time_weights():
    r = wdd((100, 50), (80, 20), time_weights=(2, 1), alpha=0.05)
    assert r.total.estimate == pytest.approx(-20)
    assert r.total.se == pytest.approx(math.sqrt(115))


def test_ptools_area_weights():
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157),
            area_weights=(0.9, 1.2, 1.6, 1.5), alpha=0.05)
    published = (-99.69444444, 35.4280755, -2.813995483, -169.1321965, -30.25669241)
    got = (r.total.estimate, r.total.se, r.z, r.total.ci_low, r.total.ci_high)
    assert got == pytest.approx(published, rel=1e-8)


def test_ptools_harm_weights():
    parts = [wdd(c, t) for c, t in [((133, 91), (130, 74)), ((388, 305), (327, 202)),
                                   ((148, 97), (398, 190)), ((86, 64), (144, 92)),
                                   ((94, 67), (183, 96))]]
    res = wdd_harm([p.local.estimate for p in parts], [p.local.se for p in parts],
                   [3, 2, 5, 7, 10], alpha=0.05)
    published = (-1721.00000000, 304.10360077, -5.65925558, -2317.03210507, -1124.96789493)
    got = (res.estimate, res.se, res.detail("z"), res.ci_low, res.ci_high)
    assert got == pytest.approx(published, rel=1e-5)


def test_ptools_no_pre_example_matches_normal_p():
    # ptools docs: wdd(c(0,20), c(0,10)) two-tailed p ~ 0.068
    r = wdd((0, 20), (0, 10))
    assert r.total.p_value == pytest.approx(0.068, abs=0.001)


def test_sentence_and_frame():
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157), alpha=0.05)
    s = r.sentence()
    assert "fell by 118 crimes" in s and "95 % CI" in s
    f = r.to_frame()
    assert list(f["part"]) == ["local", "displacement", "total"]
    assert any("Poisson" in c for c in r.total.caveats)


def test_bad_inputs():
    with pytest.raises(InputDataError):
        wdd((1, 2, 3), (1, 2))
    with pytest.raises(InputDataError):
        wdd((-1, 2), (1, 2))
    with pytest.raises(OptionError):
        wdd((1, 2), (1, 2), disp_control=(1, 1))
    with pytest.raises(OptionError):
        wdd((1, 2), (1, 2), area_weights=(1, 1))
    with pytest.raises(OptionError):
        wdd((1, 2), (1, 2), alpha=1.5)
