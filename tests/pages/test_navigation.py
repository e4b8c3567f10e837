"""ui.navigation: the pages and lazy tabs the warm start visits are the app's own."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from tests.pages.conftest import assert_clean
from ui import navigation


def test_views_are_every_page_and_every_further_lazy_tab_in_navigation_order() -> None:
    refs = navigation.pages()
    got = navigation.views()
    # by hand: 9 pages; Response times 4 tabs, Workload 6, Crime trends 2 -> 3 + 5 + 1 more
    assert len(refs) == 9 and len(got) == 9 + 3 + 5 + 1
    assert got[0] == ("", "")  # the default page (Overview) first, no query
    assert [p for p, q in got if q == ""] == [r.url_path for r in refs]
    for path, spec in navigation.LAZY_TABS.items():
        stem = path.removeprefix("app_pages/").removesuffix(".py")
        tabs = [parse_qs(q)[spec.key][0] for p, q in got if p == stem and q]
        assert tabs == list(spec.labels[1:]), path  # "Cost & where next" survives the URL
    assert ("data", "") in got
    assert ("data", "") not in navigation.views(read_only=True)
    assert len(navigation.views(read_only=True)) == len(got) - 1


@pytest.mark.parametrize("path", sorted(navigation.LAZY_TABS))
def test_a_lazy_tab_named_in_the_query_is_the_one_that_renders(run_page, path: str) -> None:
    spec = navigation.LAZY_TABS[path]
    last = spec.labels[-1]
    at = run_page(path, query={spec.key: last})
    assert_clean(at)
    labels = [t.label for t in at.tabs]
    assert labels[:len(spec.labels)] == list(spec.labels)  # the page draws these tabs
    drawn = {t.label: len(t.children) for t in at.tabs if t.label in spec.labels}
    assert drawn[last] > 0 and drawn[spec.labels[0]] == 0, drawn  # lazy: only the named one


def test_filter_variants_are_the_last_district_and_the_one_year_period() -> None:
    import datetime as dt

    span = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    got = [parse_qs(q) for q in navigation.filter_variants(("D1", "D2", "D9"), span)]
    assert got == [{"district": ["D9"]},
                   {"district": ["D9"], "start": ["2025-01-01"], "end": ["2025-12-31"]},
                   {"start": ["2025-01-01"], "end": ["2025-12-31"]}]
    assert navigation.filter_variants((), None) == ()
    assert [parse_qs(q) for q in navigation.filter_variants((), span)] == [got[2]]
    views = navigation.views(variants=("district=D9",))
    plain = navigation.views()
    assert views[:len(plain)] == plain  # the default views and tabs first
    assert views[len(plain):] == [(r.url_path, "district=D9") for r in navigation.pages()]
