"""No machine name on screen: every page and tab, on the demo city, shows human headers,
axis titles, legends and categories (tests/pages/screen_text.py collects what is shown)."""

from __future__ import annotations

import pytest

from tests.pages.conftest import assert_clean
from tests.pages.screen_text import PAGE_VIEWS, snake_case_on_screen


@pytest.mark.parametrize(("page", "query"), PAGE_VIEWS,
                         ids=[f"{p.split('/')[-1][:-3]}-{'-'.join(q.values()) or 'main'}"
                              for p, q in PAGE_VIEWS])
def test_no_snake_case_on_screen(run_page, page: str, query: dict[str, str]) -> None:
    at = run_page(page, query=query)
    assert_clean(at)
    assert snake_case_on_screen(at) == []
