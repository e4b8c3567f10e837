"""Every page registered in dashboard.py renders in AppTest without exceptions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.pages.conftest import assert_clean

ROOT = Path(__file__).resolve().parents[2]
REGISTERED = re.findall(r'"(app_pages/[a-z_]+\.py)"',
                        (ROOT / "dashboard.py").read_text(encoding="utf-8"))
EXISTING = [p for p in REGISTERED if (ROOT / p).exists()]


@pytest.mark.parametrize("page", EXISTING)
def test_page_renders(run_page, page: str) -> None:
    at = run_page(page)
    assert_clean(at)
    assert at.title or at.markdown, f"{page} rendered nothing"
