"""Concurrent browser sessions against a running server: first-render time and numbers.

``python -m ui.bench_sessions --db data/cso.duckdb --levels 1,5,10,20`` starts the app on a
loopback port (or uses ``--url``), then for each level opens that many headless chromium
contexts at once, each on the Overview with its own filters in the link (a district, a
priority, a half-year). A session's *first render* is the time from opening the link to
its "Calls for service" card showing a number. Each number is compared with an
independent SQL count on the ``calls`` table (same dates, district, priority), so the
run also proves every session got its own correct figure. The capacity is the largest
level whose slowest first render is at most ``--budget`` seconds (default 5).

Every request off the machine is refused; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/")
CARD = "Calls for service"


@dataclass(frozen=True)
class SessionFilter:
    start: dt.date
    end: dt.date
    district: str
    priority: int

    def query(self) -> str:
        return (f"?start={self.start}&end={self.end}&district={self.district}"
                f"&priority={self.priority}")


@dataclass
class SessionResult:
    query: str
    seconds: float | None
    shown: int | None
    expected: int
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.shown is not None and self.shown == self.expected


def session_filters(db_path: Path, n: int, offset: int = 0) -> list[SessionFilter]:
    """``n`` distinct filters over the data's districts, priorities 1–4 and half-years."""
    from analytics import db

    con = db.connect(db_path, read_only=True)
    try:
        districts = [r[0] for r in con.execute(
            "SELECT DISTINCT district FROM calls WHERE district IS NOT NULL ORDER BY 1"
        ).fetchall()]
        lo, hi = con.execute("SELECT min(received_at)::DATE, max(received_at)::DATE FROM calls"
                             ).fetchall()[0]
    finally:
        con.close()
    halves = []
    d = dt.date(lo.year, 1, 1)
    while d <= hi:
        halves.append((d, dt.date(d.year, 6, 30)))
        halves.append((dt.date(d.year, 7, 1), dt.date(d.year, 12, 31)))
        d = dt.date(d.year + 1, 1, 1)
    out = []
    n_h, n_d = len(halves), len(districts)
    for i in range(offset, offset + n):  # distinct for the first n_h * n_d * 4 sessions
        start, end = halves[i % n_h]
        out.append(SessionFilter(max(start, lo), min(end, hi), districts[(i // n_h) % n_d],
                                 1 + (i // (n_h * n_d)) % 4))
    return out


def expected_calls(db_path: Path, f: SessionFilter) -> int:
    """The independent count: plain SQL on ``calls``, not the app's metric code."""
    from analytics import db

    con = db.connect(db_path, read_only=True)
    try:
        return int(con.execute(
            "SELECT count(*) FROM calls WHERE received_at >= $1 AND received_at < $2 "
            "AND district = $3 AND priority = $4",
            [dt.datetime.combine(f.start, dt.time()),
             dt.datetime.combine(f.end + dt.timedelta(days=1), dt.time()),
             f.district, f.priority]).fetchall()[0][0])
    finally:
        con.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_path: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, CSO_DB=str(db_path))
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
           "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(url: str, proc: subprocess.Popen | None, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError("streamlit exited during start-up") from None
            time.sleep(0.5)
    raise RuntimeError(f"the server did not become healthy in {timeout:.0f} s")


def _number(text: str) -> int | None:
    digits = re.sub(r"[^0-9]", "", text or "")
    return int(digits) if digits else None


async def _one(browser, url: str, f: SessionFilter, expected: int, timeout_s: float
               ) -> SessionResult:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})

    async def route(r) -> None:
        u = r.request.url
        if LOCAL.match(u) or u.startswith(("data:", "blob:", "about:")):
            await r.continue_()
        else:
            await r.abort()

    await ctx.route("**/*", route)
    page = await ctx.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url + "/" + f.query(), wait_until="domcontentloaded",
                        timeout=timeout_s * 1000)
        card = page.locator('[data-testid="stMetric"]', has_text=CARD).first
        value = card.locator('[data-testid="stMetricValue"]')
        await value.wait_for(state="visible", timeout=timeout_s * 1000)
        seconds = time.perf_counter() - t0
        shown = _number(await value.inner_text())
        return SessionResult(f.query(), seconds, shown, expected)
    except Exception as exc:  # noqa: BLE001 - a session that fails is a result, not a crash
        return SessionResult(f.query(), None, None, expected, f"{type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:200]}")
    finally:
        await ctx.close()


async def run_level(url: str, filters: list[SessionFilter], expected: list[int],
                    timeout_s: float = 120) -> list[SessionResult]:
    """Open one browser context per filter at the same moment; wait for all."""
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            return list(await asyncio.gather(*(
                _one(browser, url, f, e, timeout_s) for f, e in zip(filters, expected,
                                                                   strict=True))))
        finally:
            await browser.close()


def summarise(level: int, results: list[SessionResult]) -> dict:
    secs = [r.seconds for r in results if r.seconds is not None]
    return {
        "sessions": level,
        "rendered": len(secs),
        "correct": sum(r.correct for r in results),
        "median_s": round(statistics.median(secs), 2) if secs else None,
        "max_s": round(max(secs), 2) if len(secs) == level else None,
        "errors": [r.error for r in results if r.error][:3],
    }


def _server_cpu_s(proc: subprocess.Popen | None) -> float:
    if proc is None:
        return 0.0
    from ui.bench_browser import session_cpu_s

    return session_cpu_s(proc.pid)


def measure(db_path: Path, levels: list[int], url: str | None = None, budget_s: float = 5.0
            ) -> dict:
    """Run every level (fresh filters for each, so no level reuses another's cache)."""
    proc = None
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(db_path, port)
    try:
        wait_healthy(url, proc)
        # One warm-up visit: server start-up costs (imports, the first connection) are not
        # what a visitor's first render measures.
        warm = session_filters(db_path, 1, offset=997)
        asyncio.run(run_level(url, warm, [expected_calls(db_path, warm[0])]))
        rows, offset = [], 0
        for n in levels:
            filters = session_filters(db_path, n, offset)
            offset += n
            expected = [expected_calls(db_path, f) for f in filters]
            cpu0 = _server_cpu_s(proc)
            res = run_level(url, filters, expected)
            row = summarise(n, asyncio.run(res))
            if proc is not None:  # the server's own CPU-seconds for the level (all sessions)
                row["server_cpu_s"] = round(_server_cpu_s(proc) - cpu0, 2)
            row["load_1m"] = round(os.getloadavg()[0], 2)
            rows.append(row)
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    ok = [r["sessions"] for r in rows if r["max_s"] is not None and r["max_s"] <= budget_s
          and r["correct"] == r["sessions"]]
    return {"db": str(db_path), "budget_s": budget_s, "levels": rows,
            "capacity": max(ok) if ok else 0, "load_average": os.getloadavg(),
            "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ui.bench_sessions", description=__doc__)
    ap.add_argument("--db", type=Path, default=ROOT / "data" / "cso.duckdb")
    ap.add_argument("--levels", default="1,5,10,15,20",
                    help="comma-separated numbers of simultaneous sessions")
    ap.add_argument("--url", help="use a running server instead of starting one")
    ap.add_argument("--budget", type=float, default=5.0, help="first-render budget in s")
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    args = ap.parse_args(argv)
    out = measure(args.db, [int(x) for x in args.levels.split(",")], args.url, args.budget)
    for r in out["levels"]:
        cpu = f", server {r['server_cpu_s']} CPU-s" if "server_cpu_s" in r else ""
        print(f"{r['sessions']:>3} sessions: rendered {r['rendered']}, correct {r['correct']}, "
              f"median {r['median_s']} s, slowest {r['max_s']} s{cpu}, load {r['load_1m']}  "
              f"{r['errors'] or ''}")
    la = ", ".join(f"{x:.2f}" for x in out["load_average"])
    print(f"capacity at ≤ {out['budget_s']:g} s first render: {out['capacity']} sessions "
          f"({out['cpus']} CPUs, load average {la})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
