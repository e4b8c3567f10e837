"""The council briefing: public tier, numbers from the evaluation engine, 2–4 PDF pages."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analytics import briefing, catalog, db, overview, privacy
from analytics.evaluation import answer_claims
from analytics.filters import Filters

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "briefing"
K = privacy.DEFAULT_K


@pytest.fixture(scope="module")
def made(demo_con):
    b = briefing.build_briefing(demo_con)
    text = briefing.briefing_html(b)
    return b, text, briefing.briefing_pdf(text)


def test_findings_are_the_evaluation_api_answers(made, demo_con) -> None:
    b, text, _ = made
    api = answer_claims(demo_con, filters=Filters())  # an independent call
    assert [f.key for f in b.findings] == [r.claim.key for r in api]
    for f, r in zip(b.findings, api, strict=True):
        assert f.verdict == r.verdict and f.sentence == r.sentence
        assert (f.estimate, f.ci_low, f.ci_high) == pytest.approx(
            (r.estimate.estimate, r.estimate.ci_low, r.estimate.ci_high))
        assert html.escape(r.sentence) in text
        assert "95 % CI" in r.sentence


def test_kpis_are_the_overview_figures_for_the_period(made, demo_con) -> None:
    b, text, _ = made
    backend = db.ibis_backend(demo_con)
    opts = catalog.filter_options(backend)
    # the latest calendar year the data cover fully (analytics.core.periods.public_period)
    last = opts.max_date
    assert b.period.end <= last and (b.period.start.month, b.period.start.day) == (1, 1)
    assert (b.period.end + dt.timedelta(days=1)).day == 1
    assert b.period.days in (365, 366)
    f = Filters(start=b.period.start, end=b.period.end, exclude_sensitive=True)
    _, kpis = overview.overview_kpis(backend, f, opts.min_date, opts.max_date)
    for mine, ref in zip(b.kpis, kpis, strict=True):
        assert (mine.label, mine.value, mine.previous) == (ref.label, ref.value, ref.previous)
    calls = next(k for k in kpis if k.key == "calls")
    assert f"{calls.value:,.0f}" in text


def test_public_tier_and_no_small_counts(made) -> None:
    b, text, _ = made
    assert b.policy.tier == "public"
    assert "Privacy tier: public" in text
    for df in (b.districts, b.monthly, b.change):
        for c in df.columns:
            if pd.api.types.is_integer_dtype(df[c]) or c in ("calls", "crime_incidents",
                                                             "before", "after", "crimes"):
                v = pd.to_numeric(df[c], errors="coerce").dropna()
                assert not ((v >= 1) & (v < K)).any(), c


def test_html_is_self_contained_and_says_synthetic(made) -> None:
    _, text, _ = made
    assert not re.search(r"(src|href)=[\"'](?!data:)", text)
    assert not re.search(r"https?://", text)
    assert "Synthetic data" in text
    assert text.count("data:image/png;base64,") == 3  # findings chart, map, monthly chart


def test_pdf_has_two_to_four_pages_with_text(made, tmp_path) -> None:
    _, _, pdf = made
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed (CI installs it)")
    path = tmp_path / "briefing.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))
    assert 2 <= pages <= 4
    words = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert "95 %" in words and "Headline findings" in words and "Synthetic data" in words
    # page images for people to look at (tests/artifacts is not committed)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # no pages left from an earlier run
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, ARTIFACTS / "briefing.pdf")
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(ARTIFACTS / "page")],
                   check=True)
    assert len(list(ARTIFACTS.glob("page-*.png"))) == pages


def test_briefing_period_is_the_public_sidebars_period(demo_con) -> None:
    # One rule (analytics.core.periods.public_period) for the briefing's default, the CLI
    # and the public sidebar: the latest calendar year the data cover fully.
    lo, hi = demo_con.execute("SELECT min(received_at)::DATE, max(received_at)::DATE "
                              "FROM calls").fetchone()
    year = hi.year if (hi.month, hi.day) == (12, 31) else hi.year - 1
    expected = (dt.date(year, 1, 1), dt.date(year, 12, 31))
    got = briefing.reporting_period(demo_con)
    assert (got.start, got.end, got.label) == (*expected, str(year))
    policy = briefing._public_policy(db.ibis_backend(demo_con))
    assert policy.public_period() == expected
    # a date inside an earlier whole year picks that year; the claims still get their
    # months before the start (they use all data up to the period's end)
    got = briefing.reporting_period(demo_con, start=dt.date(year - 1, 3, 5),
                                    end=dt.date(year - 1, 4, 30))
    assert (got.start, got.end) == (dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31))


def test_cli_writes_html_and_refuses_other_extensions(demo_db_path, tmp_path) -> None:
    from analytics import cli

    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_path, copy)
    assert cli.main(["briefing", "--out", str(tmp_path / "b.txt"), "--db", str(copy)]) == 2
    assert cli.main(["briefing", "--out", str(tmp_path / "b.html"), "--db", str(copy),
                     "--from", "2025-01-01", "--to", "2024-01-01"]) == 2
    out = tmp_path / "b.html"
    assert cli.main(["briefing", "--out", str(out), "--db", str(copy),
                     "--from", "2024-03-10", "--to", "2024-08-20"]) == 0
    text = out.read_text(encoding="utf-8")
    # the public grid: 10 Mar – 20 Aug 2024 lies in 2024, so the whole of 2024 (the demo
    # city covers 2022–2025), against 2023
    assert "01 January 2024 – 31 December 2024, compared with 01 January 2023" in text
