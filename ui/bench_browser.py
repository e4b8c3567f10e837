"""Browser benchmark: ``python -m analytics bench pages --db PATH [--json FILE]``.

Starts a fresh Streamlit server on the database (analyst tier unless ``--tier``; the
server holds the file read-only at rest and this benchmark never writes: the file's
modification time is checked before and after), and drives Debian chromium (Playwright,
headless, every request off the machine refused) through every page of ``dashboard.py``:

- **cold**: the first visit of the page after the server started. By default every page
  gets its own fresh server (``--one-server``: one server for all, pages visited in
  navigation order, so later pages find the libraries and shared caches warm);
- **reload**: the same page reloaded in the same browser session (a returning user:
  the frontend's files come from the browser's cache; the server starts a new session);
- **warm**: the same page again in a new browser session (the shared result cache is
  warm, the session state is new, the browser's cache empty);
- **tab: NAME**: every tab after the first, clicked (tabs compute lazily, on a rerun);
- **district change**: the sidebar's District filter set to one district;
- **date change**: then the sidebar's "1 year" period button.

Before the pages, the **browser floor**: ``ui/bench_floor_app.py``, a Streamlit page with
no data (a sidebar with the same two filters, a title and ``--floor`` small charts: 0 and
8 plotly charts by default), on its own fresh server, visited the same way. Its figures are
the least a page can cost in this browser on this machine, measured in the same run: a
page's wall time minus the floor's is what the dashboard itself adds. Each cold visit
also counts what the page drew (plotly charts, tables, frames).

For each interaction it records the wall time from the action to **settled**, the server
process's CPU-seconds over that interval (user + system of every process in the server's
session, from ``/proc/<pid>/stat``, children included), the benchmark's own chromium's
CPU-seconds over the same interval (where the rest of the wall time goes when browser and
server share the cores) and the server's resident memory; the
server's peak RSS (``VmHWM``) at the end. Beside them, in the same run, a **baseline
scan** of the database (``count(*)`` and the median of ``total_s`` over ``call_facts``,
best of three, wall and CPU) so that ratios can be compared on a noisy machine, and the
1-minute load average before and after every page.

*Settled* means, at the same moment: (1) the server has finished at least one script run
since the action and none is running (Streamlit's own ``new_session`` / ``script_finished``
messages on the page's websocket, decoded with Streamlit's protobuf classes), and (2) the
page shows no running-status widget, spinner, skeleton or stale (greyed, from an earlier
run) element; and both have held for ``--quiet`` seconds (default 0.5 s: a page that
reruns itself, e.g. after mirroring its filters into the URL, is not settled between the
runs). The recorded wall time is the moment the settled state began, not the end of the
quiet window; the CPU-seconds are read at the end of the quiet window (an idle server
adds nothing there). Times exclude nothing the browser does before it can show the page
(for the cold visit: loading the frontend, opening the websocket, the script run,
drawing the charts).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ui import navigation

ROOT = Path(__file__).resolve().parents[1]
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/")
BUSY = ('[data-testid="stStatusWidget"], [data-testid="stSpinner"], '
        '[data-testid="stSkeleton"], [data-stale="true"]')
PROBLEMS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
ELEMENTS = {"charts": ".js-plotly-plot", "vega charts": '[data-testid="stVegaLiteChart"]',
            "tables": '[data-testid="stDataFrame"]', "frames": '[data-testid="stMain"] iframe'}
#: The browser floor pages (``ui/bench_floor_app.py``) measured first: ``N`` plotly charts
#: or ``N:kind`` (:data:`FLOOR_KINDS`).
FLOOR_CHARTS = ("0", "8")
#: How the floor draws its charts: plotly as the pages do, plotly with
#: ``staticPlot`` (no hover, zoom or toolbar), or Streamlit's own Vega-Lite line chart.
FLOOR_KINDS = ("plotly", "static", "vega")
#: The floor page's District options (the benchmark picks the first) and its variables.
FLOOR_DISTRICTS = ("Floor A", "Floor B")
FLOOR_CHARTS_ENV = "CSO_FLOOR_CHARTS"
FLOOR_KIND_ENV = "CSO_FLOOR_KIND"


def floor_spec(spec: str) -> tuple[int, str]:
    """``"8"`` → (8, "plotly"); ``"8:vega"`` → (8, "vega"); ValueError otherwise."""
    n, _, kind = spec.partition(":")
    kind = kind or FLOOR_KINDS[0]
    if not n.isdigit() or kind not in FLOOR_KINDS:
        raise ValueError(f"floor page {spec!r}: expected N or N:kind with kind one of "
                         + ", ".join(FLOOR_KINDS))
    return int(n), kind


def floor_title(spec: str) -> str:
    n, kind = floor_spec(spec)
    return f"floor: {n} charts" + ("" if kind == FLOOR_KINDS[0] else f" ({kind})")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-default-apps",
                 "--disable-extensions", "--metrics-recording-only", "--mute-audio"]
_TICK = os.sysconf("SC_CLK_TCK")


PageRef = navigation.PageRef  # the pages are read from dashboard.py in one place
pages = navigation.pages


# -- the server and its resources ----------------------------------------------------------
def _processes() -> dict[int, tuple[str, list[str]]]:
    """Every live process: pid → (command name, the ``/proc/<pid>/stat`` fields after it).

    In those fields: [0] state (field 3), [1] ppid (4), [3] session (6), [11:15] utime,
    stime, cutime, cstime (14-17)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                raw = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        out[int(d)] = (raw[raw.find("(") + 1:raw.rfind(")")], raw[raw.rfind(")") + 2:].split())
    return out


def _ticks(rest: list[str]) -> int:
    return sum(int(x) for x in rest[11:15])


def session_cpu_s(sid: int) -> float:
    """User + system CPU-seconds of every live process in session ``sid`` (the server
    started with ``start_new_session``), including their waited-for children."""
    return sum(_ticks(rest) for _c, rest in _processes().values() if int(rest[3]) == sid) / _TICK


def browser_cpu_s(root: int | None = None) -> float:
    """User + system CPU-seconds of the live chromium processes descended from ``root``
    (default this process: the benchmark's own headless browser), children included.

    Beside the server's CPU-seconds it shows where an interaction's wall time went on a
    machine whose cores the browser shares with the server.
    """
    root = os.getpid() if root is None else root
    procs = {pid: (int(rest[1]), comm, _ticks(rest))
             for pid, (comm, rest) in _processes().items()}
    total = 0
    for pid, (_ppid, comm, ticks) in procs.items():
        if not comm.startswith("chrom"):
            continue
        up, seen = pid, set()
        while up in procs and up not in seen and up != root:
            seen.add(up)
            up = procs[up][0]
        if up == root:
            total += ticks
    return total / _TICK


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


def peak_rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmHWM") / 1024


class Server:
    """``streamlit run dashboard.py`` on a free loopback port, in its own session; with
    ``warm``, ``python -m ui.serve`` instead, waited for until its warm start has
    finished (the default view computed before the first visitor, ``ui/serve.py``)."""

    def __init__(self, db_path: Path, tier: str | None, log_path: Path | None,
                 warm: bool = False, *, script: Path | None = None,
                 env: dict[str, str] | None = None) -> None:
        from ui import serve
        from ui.bench_sessions import free_port, wait_healthy

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, CSO_DB=str(db_path), CSO_WARM_START="1" if warm else "0",
                   **(env or {}))
        if tier:
            env["CSO_TIER"] = tier
        options = ["--server.headless", "true", "--server.port", str(self.port),
                   "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                   "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
        cmd = ([sys.executable, "-m", "ui.serve", *options] if warm else
               [sys.executable, "-m", "streamlit", "run", str(script or ROOT / "dashboard.py"),
                *options])
        self._tmp_log = None
        if warm and log_path is None:  # the warm-start line is read from the log
            import tempfile

            fd, name = tempfile.mkstemp(prefix="cso_bench_server_", suffix=".log")
            os.close(fd)
            self._tmp_log = log_path = Path(name)
        self._log_path = log_path
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self._log_start = log_path.stat().st_size if log_path else 0
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.warm_line: str | None = None
        try:
            wait_healthy(self.url, self.proc)
            if warm:
                self.warm_line = self._wait_for_line(serve.DONE_PREFIX, 600.0)
        except Exception:
            self.stop()
            raise
        self.start_s = time.perf_counter() - t0
        self.start_cpu_s = self.cpu_s()

    def _wait_for_line(self, prefix: str, timeout_s: float) -> str:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            with open(self._log_path, "rb") as fh:  # type: ignore[arg-type]
                fh.seek(self._log_start)
                for raw in fh.read().decode(errors="replace").splitlines():
                    if raw.startswith(prefix):
                        return raw
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited during its warm start")
            time.sleep(0.2)
        raise RuntimeError(f"no warm-start line within {timeout_s:.0f} s")

    def figures(self, for_: str) -> dict:
        """What the run records of this server: what it served, its start (wall and
        CPU-seconds) and its warm-start line."""
        return {"for": for_, "start_s": round(self.start_s, 2),
                "start_cpu_s": round(self.start_cpu_s, 2), "warm_start": self.warm_line}

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_s(self) -> float:
        return session_cpu_s(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        if self._tmp_log is not None:
            self._tmp_log.unlink(missing_ok=True)


# -- one browser page and its websocket ----------------------------------------------------
@dataclass
class RunWatch:
    """Script runs the server reported on a page's websockets (new_session → start,
    script_finished → end)."""

    started: int = 0
    finished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_frame(self, payload: Any) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg()
        try:
            msg.ParseFromString(bytes(payload))
        except Exception:  # noqa: BLE001 - not a ForwardMsg: not ours to count
            return
        kind = msg.WhichOneof("type")
        with self.lock:
            if kind == "new_session":
                self.started += 1
            elif kind == "script_finished":
                self.finished += 1

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            return self.started, self.finished


def settle(page: Any, watch: RunWatch, before: tuple[int, int], t0: float, *,
           quiet: float, timeout: float) -> float | None:
    """Seconds from ``t0`` to the settled state (module docstring); None on timeout."""
    since: float | None = None
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        started, finished = watch.snapshot()
        runs_done = finished > before[1] and finished >= started
        try:
            busy = page.locator(BUSY).count() > 0
        except Exception:  # noqa: BLE001 - the page is navigating: not settled
            busy = True
        now = time.perf_counter()
        if runs_done and not busy:
            if since is None:
                since = now
            elif now - since >= quiet:
                return since - t0
        else:
            since = None
        page.wait_for_timeout(40)
    return None


@dataclass
class Step:
    page: str
    interaction: str
    wall_s: float | None
    cpu_s: float
    rss_mb: float
    problems: list[str]
    load_1m: float
    browser_cpu_s: float = 0.0  # the benchmark's chromium over the same interval
    #: what the page drew (plotly charts, tables, maps' frames), counted after a visit
    elements: dict[str, int] = field(default_factory=dict)


class Driver:
    def __init__(self, browser: Any, server: Server, *, quiet: float, timeout: float) -> None:
        self.browser, self.server = browser, server
        self.quiet, self.timeout = quiet, timeout
        self.ctx: Any = None
        self.page: Any = None
        self.watch = RunWatch()
        self.outside: list[str] = []

    def new_session(self) -> None:
        if self.ctx is not None:
            self.ctx.close()
        self.ctx = self.browser.new_context(viewport={"width": 1440, "height": 1000})

        def route(r: Any) -> None:
            u = r.request.url
            if LOCAL.match(u) or u.startswith(("data:", "blob:", "about:")):
                r.continue_()
            else:
                self.outside.append(u)
                r.abort()

        self.ctx.route("**/*", route)
        self.page = self.ctx.new_page()
        self.watch = RunWatch()
        self.page.on("websocket", lambda ws: ws.on("framereceived", self.watch.on_frame))

    def measure(self, title: str, interaction: str, action: Any) -> Step:
        before = self.watch.snapshot()
        cpu0, browser0 = self.server.cpu_s(), browser_cpu_s()
        t0 = time.perf_counter()
        problems: list[str] = []
        try:
            action()
            wall = settle(self.page, self.watch, before, t0, quiet=self.quiet,
                          timeout=self.timeout)
            if wall is None:
                problems.append(f"not settled within {self.timeout:.0f} s")
        except Exception as exc:  # noqa: BLE001 - an interaction that fails is a finding
            wall = None
            problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
        cpu = self.server.cpu_s() - cpu0
        browser = browser_cpu_s() - browser0
        try:
            problems += [e.inner_text()[:160] for e in self.page.locator(PROBLEMS).all()]
        except Exception:  # noqa: BLE001
            pass
        if self.outside:
            problems.append(f"{len(self.outside)} request(s) off the machine refused")
            self.outside.clear()
        return Step(title, interaction, None if wall is None else round(wall, 3),
                    round(cpu, 2), round(rss_mb(self.server.pid)), problems,
                    os.getloadavg()[0], round(max(browser, 0.0), 2))

    def elements(self) -> dict[str, int]:
        """How many plotly charts, tables and frames (maps) the page shows now."""
        try:
            return {name: self.page.locator(sel).count() for name, sel in ELEMENTS.items()}
        except Exception:  # noqa: BLE001 - a count is a description, not a measurement
            return {}


def _pick_district(page: Any, district: str) -> str:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(
        has_text="District").first
    box.click()
    options = page.locator('[role="option"]')
    options.first.wait_for(state="visible", timeout=10_000)
    opt = options.filter(has_text=re.compile(rf"^\s*{re.escape(district)}\s*$")).first
    opt.click()
    return district


def run_page(driver: Driver, ref: PageRef, district: str) -> list[Step]:
    url = driver.server.url + "/" + ref.url_path
    steps = []
    driver.new_session()
    steps.append(driver.measure(ref.title, "cold", lambda: driver.page.goto(url)))
    steps[-1].elements = driver.elements()
    # the same browser session again: a new server session, the frontend's files from the
    # browser's cache (a returning user), where "warm" below has a fresh browser context
    steps.append(driver.measure(ref.title, "reload", lambda: driver.page.reload()))
    driver.new_session()
    steps.append(driver.measure(ref.title, "warm", lambda: driver.page.goto(url)))
    tabs = driver.page.locator('[data-testid="stTab"]')
    names = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    for i, name in enumerate(names[1:], start=1):
        steps.append(driver.measure(ref.title, f"tab: {name}",
                                    lambda i=i: tabs.nth(i).click()))
    if names:  # back to the first tab, where the filter changes are measured
        driver.measure(ref.title, "tab back", lambda: tabs.nth(0).click())
    if driver.page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(
            has_text="District").count():
        picked: list[str] = []
        steps.append(driver.measure(ref.title, "district change",
                                    lambda: picked.append(_pick_district(driver.page, district))))
        driver.page.keyboard.press("Escape")
        if picked:
            steps[-1].interaction = f"district change ({picked[0]})"
    year = driver.page.locator('[data-testid="stSidebar"] button').filter(has_text="1 year")
    if year.count():
        steps.append(driver.measure(ref.title, "date change (1 year)", lambda: year.first.click()))
    return steps


# -- the baseline ----------------------------------------------------------------------------
BASELINE_SQL = "SELECT count(*), median(total_s) FROM call_facts"


def baseline_scan(db_path: Path) -> dict:
    """Best of three of :data:`BASELINE_SQL` in this process (wall and CPU-seconds)."""
    from analytics import db

    con = db.connect(db_path, read_only=True)
    try:
        n_calls = int(db.scalar(con, "SELECT count(*) FROM calls") or 0)
        first_district = db.scalar(con, "SELECT min(district) FROM call_facts")
        best = None
        for _ in range(3):
            w0, c0 = time.perf_counter(), time.process_time()
            con.execute(BASELINE_SQL).fetchall()
            w, c = time.perf_counter() - w0, time.process_time() - c0
            if best is None or w < best[0]:
                best = (w, c)
    finally:
        con.close()
    assert best is not None
    return {"sql": BASELINE_SQL, "wall_s": round(best[0], 4), "cpu_s": round(best[1], 3),
            "calls": n_calls, "first_district": first_district}


# -- the whole run -----------------------------------------------------------------------------
def run_floor(browser: Any, db_path: Path, spec: str, *, quiet: float, timeout: float,
              log_path: Path | None) -> tuple[list[Step], dict]:
    """The browser floor (``ui/bench_floor_app.py`` as :func:`floor_spec` reads ``spec``)
    on its own fresh server, visited as :func:`run_page` visits a page; (steps, server
    figures)."""
    n_charts, kind = floor_spec(spec)
    script = ROOT / "ui" / "bench_floor_app.py"  # a script to serve, never imported here
    server = Server(db_path, None, log_path, script=script,
                    env={FLOOR_CHARTS_ENV: str(n_charts), FLOOR_KIND_ENV: kind})
    ref = PageRef(path="ui/bench_floor_app.py", title=floor_title(spec), url_path="")
    driver = Driver(browser, server, quiet=quiet, timeout=timeout)
    try:
        steps = run_page(driver, ref, FLOOR_DISTRICTS[0])
    finally:
        if driver.ctx is not None:
            driver.ctx.close()
        figures = server.figures(ref.title)
        figures["peak_rss_mb"] = round(peak_rss_mb(server.pid))
        server.stop()
    return steps, figures


def run(db_path: Path, *, only: list[str] | None = None, one_server: bool = False,
        tier: str | None = None, district: str | None = None, quiet: float = 0.5,
        timeout: float = 180.0, log_path: Path | None = None,
        progress: Any = None, warm_start: bool = False,
        floor: tuple[str, ...] = FLOOR_CHARTS) -> dict:
    """Run the benchmark; return every figure (see the module docstring)."""
    from playwright.sync_api import sync_playwright

    for spec in floor:
        floor_spec(spec)  # a bad floor page fails before any server starts

    db_path = Path(db_path).resolve()
    mtime = db_path.stat().st_mtime_ns
    load_start = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    base0 = baseline_scan(db_path)
    refs = pages(only)
    district = district or base0["first_district"] or ""
    steps: list[Step] = []
    servers: list[dict] = []
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Debian chromium not found (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        server: Server | None = None
        floor_steps: list[Step] = []
        floor_servers: list[dict] = []
        try:
            for spec in floor:
                got, fig = run_floor(browser, db_path, spec, quiet=quiet, timeout=timeout,
                                     log_path=log_path)
                floor_steps += got
                floor_servers.append(fig)
                if progress:
                    for s in got:
                        progress(s)
            for i, ref in enumerate(refs):
                if server is None or not one_server:
                    if server is not None:
                        servers[-1]["peak_rss_mb"] = round(peak_rss_mb(server.pid))
                        server.stop()
                    server = Server(db_path, tier, log_path, warm=warm_start)
                    servers.append(server.figures(ref.title if not one_server
                                                  else "all pages"))
                driver = Driver(browser, server, quiet=quiet, timeout=timeout)
                try:
                    got = run_page(driver, ref, district)
                finally:
                    if driver.ctx is not None:
                        driver.ctx.close()
                steps += got
                if progress:
                    for s in got:
                        progress(s)
                if one_server and i == len(refs) - 1:
                    servers[-1]["peak_rss_mb"] = round(peak_rss_mb(server.pid))
            if server is not None and "peak_rss_mb" not in servers[-1]:
                servers[-1]["peak_rss_mb"] = round(peak_rss_mb(server.pid))
        finally:
            if server is not None:
                server.stop()
            browser.close()
    base1 = baseline_scan(db_path)
    written = db_path.stat().st_mtime_ns != mtime
    import duckdb

    return {
        "db": str(db_path), "calls": base0["calls"], "tier": tier or "analyst",
        "fresh_server_per_page": not one_server, "quiet_s": quiet,
        "warm_start": warm_start,
        "baseline_start": base0, "baseline_end": base1,
        "servers": servers,
        "peak_rss_mb": max((s.get("peak_rss_mb", 0) for s in servers), default=0),
        "steps": [s.__dict__ for s in steps],
        "floor": {"what": "ui/bench_floor_app.py: Streamlit's frame, no data "
                          "(the least a page costs in this browser)",
                  "charts": list(floor), "steps": [s.__dict__ for s in floor_steps],
                  "servers": floor_servers},
        "database_modified": written,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "duckdb": duckdb.__version__, "platform": platform.platform()},
        "load_avg_start": [round(x, 2) for x in load_start],
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "started_at": started,
        "ended_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


HEADER = (f"{'page':<20} {'interaction':<30} {'wall':>8}  {'server CPU':>11}  "
          f"{'browser CPU':>11}  {'RSS':>9}  load")


def step_line(s: Step | dict) -> str:
    d = s if isinstance(s, dict) else s.__dict__
    wall = "   —  " if d["wall_s"] is None else f"{d['wall_s']:6.2f}"
    flag = ("  PROBLEM: " + "; ".join(d["problems"])) if d["problems"] else ""
    return (f"{d['page']:<20} {d['interaction']:<30} {wall} s  {d['cpu_s']:5.2f} CPU-s  "
            f"{d.get('browser_cpu_s', 0.0):5.2f} CPU-s  "
            f"{d['rss_mb']:6,.0f} MB  load {d['load_1m']:.2f}{flag}")


def report_lines(out: dict) -> list[str]:
    b0, b1 = out["baseline_start"], out["baseline_end"]
    lines = [HEADER]
    floor = out.get("floor", {}).get("steps", [])
    lines += [step_line(s) for s in floor]
    lines += [step_line(s) for s in out["steps"]]
    lines.append(f"baseline scan ({b0['sql']}) over {out['calls']:,} calls: "
                 f"{b0['wall_s']} s wall / {b0['cpu_s']} CPU-s at start, "
                 f"{b1['wall_s']} s / {b1['cpu_s']} CPU-s at end")
    starts = [s["start_s"] for s in out["servers"]]
    lines.append(f"servers: {len(starts)}, start {min(starts):.1f}–{max(starts):.1f} s"
                 f"{' (warm start included)' if out.get('warm_start') else ''}; "
                 f"peak RSS {out['peak_rss_mb']:,} MB")
    lines.append(f"load average {out['load_avg_start']} at start, {out['load_avg_end']} at "
                 f"end; {out['machine']['cpus']} CPUs")
    if out["database_modified"]:
        lines.append("WARNING: the database file was modified during the run")
    return lines


def scale_lines(runs: list[dict]) -> list[str]:
    """A Markdown table of several ``bench pages`` runs side by side (``bench scale``):
    per page and interaction, each run's wall seconds and server CPU-seconds, and the
    CPU-seconds of the last run ÷ the first (how the cost grows with the calls). Rows in
    the first run's order; a step missing from a run shows "—". Below it, per run: the
    calls, the peak RSS, the baseline scan and the load."""
    def key(d: dict) -> tuple[str, str]:
        return (d["page"], d["interaction"])

    def all_steps(out: dict) -> list[dict]:
        return [*out.get("floor", {}).get("steps", []), *out["steps"]]

    by_run = [{key(d): d for d in all_steps(out)} for out in runs]
    order = list(dict.fromkeys(key(d) for out in runs for d in all_steps(out)))
    names = [f"{out['calls'] / 1e6:g}M" for out in runs]
    head = ["page", "interaction"]
    for n in names:
        head += [f"{n} wall s", f"{n} server CPU-s"]
    head += [f"CPU {names[-1]} ÷ {names[0]}"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * 2 + "---:|" * (2 * len(runs) + 1)]
    for k in order:
        cells = [k[0], k[1]]
        for run in by_run:
            d = run.get(k)
            cells += ["—", "—"] if d is None else [
                "—" if d["wall_s"] is None else f"{d['wall_s']:.2f}", f"{d['cpu_s']:.2f}"]
        first, last = by_run[0].get(k), by_run[-1].get(k)
        cells.append(f"{last['cpu_s'] / first['cpu_s']:.1f}×"
                     if first and last and first["cpu_s"] > 0 else "—")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for n, out in zip(names, runs, strict=True):
        b = out["baseline_start"]
        when = (f"{out['started_at']} to {out['ended_at']}" if "ended_at" in out
                else out.get("started_at", "?"))
        lines.append(f"- {n} ({out['calls']:,} calls, {when}): "
                     f"peak server RSS {out['peak_rss_mb']:,} MB; baseline scan "
                     f"{b['wall_s']} s / {b['cpu_s']} CPU-s; load {out['load_avg_start']} "
                     f"→ {out['load_avg_end']}")
    return lines


def scale_command(a: argparse.Namespace) -> int:
    runs = [json.loads(Path(f).read_text(encoding="utf-8")) for f in a.files]
    for line in scale_lines(runs):
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analytics bench pages",
                                 description=__doc__.splitlines()[0])
    add_arguments(ap)
    return run_command(ap.parse_args(argv))


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--db", type=Path, required=True, help="database to benchmark (not written)")
    ap.add_argument("--json", type=Path, help="write the figures to this JSON file")
    ap.add_argument("--pages", help="comma-separated page file stems or titles (default all)")
    ap.add_argument("--one-server", action="store_true",
                    help="one server for every page instead of a fresh server per page")
    ap.add_argument("--tier", help="privacy tier of the server (CSO_TIER; default analyst)")
    ap.add_argument("--district", help="district for the filter change (default the first)")
    ap.add_argument("--quiet", type=float, default=0.5,
                    help="seconds the settled state must hold (default 0.5)")
    ap.add_argument("--timeout", type=float, default=180.0,
                    help="seconds an interaction may take before it is reported as failed")
    ap.add_argument("--server-log", type=Path, help="append the servers' output to this file")
    ap.add_argument("--warm-start", action="store_true",
                    help="start servers with `python -m ui.serve` and visit each page only "
                         "after its warm start has finished (default: plain streamlit run)")
    ap.add_argument("--floor", default=",".join(FLOOR_CHARTS),
                    help="the browser floor pages, measured first: comma-separated N (N "
                         "plotly charts) or N:kind, kind one of " + ", ".join(FLOOR_KINDS)
                         + f" (default {','.join(FLOOR_CHARTS)})")
    ap.add_argument("--no-floor", action="store_true", help="skip the browser floor")


def run_command(a: argparse.Namespace) -> int:
    if not a.db.exists():
        print(f"no database at {a.db}", file=sys.stderr)
        return 2
    print(HEADER, flush=True)
    out = run(a.db, only=a.pages.split(",") if a.pages else None, one_server=a.one_server,
              tier=a.tier, district=a.district, quiet=a.quiet, timeout=a.timeout,
              log_path=a.server_log, progress=lambda s: print(step_line(s), flush=True),
              warm_start=a.warm_start,
              floor=() if a.no_floor else tuple(x.strip() for x in a.floor.split(",") if x.strip()))
    shown = len(out["steps"]) + len(out["floor"]["steps"])
    for line in report_lines(out)[shown + 1:]:
        print(line)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {a.json}")
    return 1 if any(s["problems"] for s in out["steps"] + out["floor"]["steps"]) else 0


if __name__ == "__main__":
    sys.exit(main())
