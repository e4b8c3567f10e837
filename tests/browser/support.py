"""Browser-test support: real server + headless Debian chromium, non-local requests blocked.

Skips when chromium or playwright is missing, unless CSO_REQUIRE_BROWSER=1 (set by .ci/run),
in which case a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/")


def need_browser() -> str:
    chromium = shutil.which("chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        chromium = None
    if chromium is None:
        if os.environ.get("CSO_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium/playwright missing but CSO_REQUIRE_BROWSER=1")
        pytest.skip("chromium or playwright not installed")
    return chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(db_path: Path, **env_vars: str) -> tuple[subprocess.Popen, str]:
    """Serve ``db_path`` on a loopback port (extra environment, e.g. ``CSO_TIER="public"``)."""
    port = free_port()
    env = dict(os.environ, CSO_DB=str(db_path), **env_vars)
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("streamlit exited during start-up") from None
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("streamlit did not become healthy in 90 s")


@contextmanager
def served_app(db_path: Path, **env_vars: str) -> Iterator[str]:
    """The URL of a server started by :func:`start_app`, stopped (its whole process group)
    when the block ends."""
    proc, url = start_app(db_path, **env_vars)
    try:
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def app_url(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_browser()
    # The server holds its database read-write until the session ends, which would lock
    # every later test out of the shared demo file: serve a private copy instead.
    served = tmp_path_factory.mktemp("browser_db") / "demo.duckdb"
    shutil.copyfile(demo_db_path, served)
    with served_app(served) as url:
        yield url


@dataclass
class Watch:
    """What the page did that it should not: requests off the machine, console errors."""

    outside: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    chromium = need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture()
def page(browser) -> Iterator[tuple[object, Watch]]:
    """A fresh page whose off-machine requests are aborted and recorded."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    watch = Watch()

    def route(r) -> None:
        url = r.request.url
        if LOCAL.match(url) or url.startswith(("data:", "blob:", "about:")):
            r.continue_()
        else:
            watch.outside.append(url)
            r.abort()

    ctx.route("**/*", route)
    pg = ctx.new_page()
    pg.on("console", lambda m: watch.console.append(m.text)
          if m.type == "error" and "Failed to load resource" not in m.text else None)
    yield pg, watch
    ctx.close()


def wait_for_app(pg, timeout_ms: int = 120_000) -> None:
    """Wait until the page has a title and Streamlit has stopped running the script."""
    pg.wait_for_selector('[data-testid="stSidebarNavLink"]', timeout=timeout_ms)
    pg.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout_ms,
    )
    pg.wait_for_timeout(1500)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout_ms,
    )


def screenshot(pg, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True, timeout=120_000)
    return path


def error_boxes(pg) -> list[str]:
    loc = pg.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [loc.nth(i).inner_text()[:200] for i in range(loc.count())]
