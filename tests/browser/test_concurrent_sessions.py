"""20 browser sessions at once, each with its own filters, each gets its own correct
number (issue 17). Loopback only; every session bounded by a timeout; no timing asserted
(the capacity figure is measured by `python -m ui.bench_sessions`, docs/performance.md)."""

from __future__ import annotations

import asyncio

import pytest

from tests.browser.support import need_browser
from ui import bench_sessions


@pytest.mark.slow
def test_twenty_concurrent_sessions_each_get_their_own_correct_numbers(app_url, demo_db_path):
    need_browser()
    filters = bench_sessions.session_filters(demo_db_path, 20)
    assert len({f.query() for f in filters}) == 20  # all different
    expected = [bench_sessions.expected_calls(demo_db_path, f) for f in filters]
    assert len(set(expected)) > 10  # the sessions really differ in their answer
    results = asyncio.run(bench_sessions.run_level(app_url, filters, expected, timeout_s=480))
    assert [r.error for r in results if r.error] == []
    assert [(r.query, r.shown, r.expected) for r in results if not r.correct] == []
