"""Evaluation page on the demo city: claims with verdicts, every method renders."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_clean, shown

PAGE = "app_pages/evaluation.py"


@pytest.fixture()
def at(run_page):
    return run_page(PAGE, timeout=240)


def test_claims_and_default_analysis(at) -> None:
    assert_clean(at)
    assert at.title[0].value == "🔬 Evaluation"
    heads = [h.value for h in at.subheader]
    assert heads[:2] == ["The programme's claims", "Analyse an outcome"]
    texts = " ".join(m.value for m in at.markdown)
    for q in ("minor offences", "suspicious activity", "sworn officers", "response times"):
        assert q in texts
    buttons = [b for b in at.button if b.key and b.key.startswith("ev_open_")]
    assert len(buttons) == 4
    # headline metrics and one plain sentence
    labels = [m.label for m in at.metric]
    assert "95 % CI" in labels and "p-value" in labels
    sentence = (at.success or at.info)[0].value
    assert "CSO areas" in sentence and "95 % CI" in sentence


def test_each_claim_states_level_method_and_clusters(at) -> None:
    """Beside every verdict: the clustering level, the inference method and the number of
    clusters (the demo assigns CSOs by district: 4 districts, 24 assignments)."""
    captions = [shown(c.value) for c in at.caption]  # as read: Markdown escapes resolved
    lines = [c for c in captions if c.startswith("Inference:")]
    assert len(lines) == 5, lines  # four claims and the analysis below
    for line in lines:
        assert "randomization inference" in line and "24 assignments" in line
        assert "clustered by district (4 districts)" in line
    # above the claims, once: which family adjustment the verdicts use, with Holm beside it
    family = [c for c in captions if c.startswith("The 4 claims are tested as one family")]
    assert len(family) == 1 and "Westfall–Young" in family[0] and "Holm" in family[0]
    texts = " ".join(m.value for m in at.markdown)
    assert "Negative control" in texts
    assert any("Placebo" in c for c in captions)


@pytest.mark.parametrize("method", ["callaway_santanna", "did_2x2", "its", "wdd", "pre_post",
                                    "dose_response"])
def test_every_method_renders(at, method) -> None:
    at.session_state["ev_method"] = method
    at.run()
    assert_clean(at)
    assert any(m.label == "p-value" for m in at.metric), method


def test_claim_button_opens_analysis(at) -> None:
    at.button(key="ev_open_urgent_response").click()
    at.run()
    assert_clean(at)
    assert at.session_state["ev_metric"] == "p12_median_response_min"
    assert any("minutes" in m.label for m in at.metric)


def test_time_outcome_with_count_only_method_warns(at) -> None:
    at.session_state["ev_metric"] = "p12_median_response_min"
    at.session_state["ev_method"] = "wdd"
    at.run()
    assert not at.exception
    assert any("count outcome" in w.value for w in at.warning)


def test_page_has_no_forbidden_imports() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[2] / PAGE).read_text(encoding="utf-8"))
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module}
    assert not names & {"duckdb", "ibis", "statsmodels"}


def test_bootstrap_and_response_time_before_after(at) -> None:
    at.session_state["ev_bootstrap"] = True
    at.run()
    assert_clean(at)
    assert any("multiplier bootstrap" in c.value for c in at.caption)
    at.session_state["ev_bootstrap"] = False
    at.session_state["ev_metric"] = "p12_median_response_min"
    at.session_state["ev_method"] = "pre_post"
    at.run()
    assert_clean(at)
    table = at.dataframe[-1].value
    assert any("90th percentile" in lab for lab in table["label"])
