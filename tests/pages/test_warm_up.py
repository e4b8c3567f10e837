"""The server imports the slow libraries once, in the background, after the first page."""

from __future__ import annotations

import sys

from ui import state


def test_warm_up_imports_the_heavy_modules_once_in_a_daemon_thread(monkeypatch):
    state.warm_up.clear()
    monkeypatch.setattr(state, "WARM_MODULES", ("json", "tests.tiny_city", "no_such_module_x"))
    sys.modules.pop("tests.tiny_city", None)
    t = state.warm_up()
    t.join(timeout=30)
    assert t.daemon and not t.is_alive()
    assert "tests.tiny_city" in sys.modules       # imported by the thread
    assert "no_such_module_x" not in sys.modules  # a failure is logged, not raised
    assert state.warm_up() is t                   # once per server process
    state.warm_up.clear()


def test_dashboard_starts_the_warm_up_after_the_page():
    from pathlib import Path

    src = (Path(__file__).resolve().parents[2] / "dashboard.py").read_text()
    assert src.index("page.run()") < src.index("state.warm_up()")
