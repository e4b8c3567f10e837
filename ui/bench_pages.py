"""Page benchmark: ``python -m ui.bench_pages --db PATH [--json FILE]``.

For every page registered in ``dashboard.py`` it measures, in one process against one
database (PRODUCT.md section 8 asks ≤ 2 s first render, ≤ 1 s filter change, ≤ 1.5 GB):

- **first render**: a new session runs the page with every ``st.cache_data`` entry
  cleared (the shared DuckDB connection stays open, as in a running server);
- **filter change**: a new session runs the same page with a district filter set (a
  filter value nobody has cached yet: the same work as changing a sidebar filter);
- **baseline**: one full scan of ``call_facts`` (count and mean total response time) in
  the same run, so that figures can be compared across machines as ratios;
- **peak RSS** of the process at the end.

Times come from Streamlit's ``AppTest`` (script run without a browser), so they exclude
network and browser painting; the browser tests cover what a person sees.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def registered_pages() -> list[str]:
    text = (ROOT / "dashboard.py").read_text(encoding="utf-8")
    return list(dict.fromkeys(re.findall(r'"(app_pages/[a-z_]+\.py)"', text)))


def _run(page: str, query: dict[str, str] | None, timeout: float,
         clear: bool) -> tuple[float, list[str]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    if clear:
        st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page == "app_pages/overview.py":  # the default page: its first run is the measurement
        t0 = time.perf_counter()
        at.run()
    else:
        at.run()  # the default page once, to register the navigation
        if clear:
            st.cache_data.clear()
        at.switch_page(page)
        t0 = time.perf_counter()
        at.run()
    elapsed = time.perf_counter() - t0
    problems = [str(e.value)[:120] for e in at.exception] + [str(e.value)[:120] for e in at.error]
    return elapsed, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="database to benchmark")
    ap.add_argument("--json", type=Path, help="write the figures to this JSON file")
    ap.add_argument("--district", default="D2", help="district for the filter-change run")
    ap.add_argument("--timeout", type=float, default=300.0)
    a = ap.parse_args(argv)
    if not a.db.exists():
        print(f"no database at {a.db}", file=sys.stderr)
        return 2
    os.environ["CSO_DB"] = str(a.db.resolve())
    os.chdir(ROOT)

    from analytics import db

    con = db.connect(a.db, read_only=True)
    t0 = time.perf_counter()
    con.execute("SELECT count(*), avg(total_s) FROM call_facts").fetchall()
    baseline = time.perf_counter() - t0
    n_calls = db.scalar(con, "SELECT count(*) FROM calls")
    con.close()

    rows = []
    for page in registered_pages():
        first, p1 = _run(page, None, a.timeout, clear=True)
        change, p2 = _run(page, {"district": a.district}, a.timeout, clear=False)
        rows.append({"page": page, "first_render_s": round(first, 3),
                     "filter_change_s": round(change, 3),
                     "first_over_baseline": round(first / baseline, 1),
                     "problems": p1 + p2})
        flag = " PROBLEM: " + "; ".join(p1 + p2) if p1 or p2 else ""
        print(f"{page:<28} first {first:6.2f} s   filter change {change:6.2f} s{flag}",
              flush=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"baseline full scan of call_facts: {baseline:.3f} s over {n_calls:,} calls")
    print(f"peak RSS: {rss_mb:,.0f} MB")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({
            "db": str(a.db), "calls": n_calls, "baseline_scan_s": round(baseline, 4),
            "peak_rss_mb": round(rss_mb), "pages": rows,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load_avg_1m": os.getloadavg()[0]},
        }, indent=2))
    return 1 if any(r["problems"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
