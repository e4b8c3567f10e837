"""Time ``python -m analytics metrics`` on DuckDB and on Spark, side by side.

``python -m analytics bench metrics --db FILE --parquet DIR`` runs the real command as a
child process once per engine (DuckDB on the database file, Spark on its Parquet export)
and records for each run:

- ``wall_s``: wall-clock seconds from start to exit (Spark's includes starting its JVM);
- ``cpu_s``: CPU seconds (user + system) of the whole process group — the Python process
  *and* the Java process Spark starts, which ``getrusage`` would miss because nobody waits
  for it — sampled from ``/proc`` every 0.2 s (a process's last fraction of a second
  after the final sample is not counted);
- ``peak_rss_mb``: the largest resident memory of the process group seen in a sample;
- ``load_before`` / ``load_after``: the 1-minute load average around the run (the machine
  is shared: a high load means the figures include waiting for the CPU);
- whether the two JSON files agree within the parity tolerances
  (:func:`analytics.metrics_report.differences`).

Linux only (``/proc``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from analytics.metrics_report import differences

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _group_sample(pgid: int) -> dict[int, tuple[float, float]]:
    """pid → (CPU seconds so far, RSS MB) of every process in process group ``pgid``."""
    out: dict[int, tuple[float, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                raw = fh.read()
        except OSError:
            continue
        # the command name (field 2) may hold spaces: split after its closing parenthesis
        fields = raw[raw.rfind(")") + 2:].split()
        if int(fields[2]) != pgid:  # field 5 (pgrp), index 2 after the name
            continue
        cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        rss = int(fields[21]) * _PAGE / 1e6
        out[int(entry.name)] = (cpu, rss)
    return out


def run_measured(argv: list[str], *, cwd: str | os.PathLike[str] | None = None,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``argv`` in its own process group; wall time, group CPU time, peak RSS, load."""
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cpu: dict[int, float] = {}
    peak = 0.0
    while proc.poll() is None:
        sample = _group_sample(proc.pid)
        for pid, (c, _r) in sample.items():
            cpu[pid] = max(cpu.get(pid, 0.0), c)
        peak = max(peak, sum(r for _c, r in sample.values()))
        time.sleep(0.2)
    wall = time.perf_counter() - start
    stdout, stderr = proc.communicate()
    return {
        "argv": argv,
        "returncode": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(sum(cpu.values()), 2),
        "peak_rss_mb": round(peak, 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "stdout_tail": stdout.strip().splitlines()[-1:] if stdout else [],
        "stderr_tail": [ln for ln in stderr.strip().splitlines() if ln.startswith("error")][-3:],
    }


def bench_metrics(db_path: str | os.PathLike[str], parquet_dir: str | os.PathLike[str],
                  workdir: str | os.PathLike[str], extra: list[str] | None = None
                  ) -> dict[str, Any]:
    """Run the metrics command on DuckDB (``db_path``) and Spark (``parquet_dir``).

    ``extra`` are further arguments for both runs (``--from``, ``--to``, ``--district``).
    Returns per engine the measurements of :func:`run_measured` and whether the JSON
    outputs agree (``same_json``, with the first differences when not).
    """
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Any] = {}
    for engine, source in (("duckdb", ["--db", str(db_path)]),
                           ("spark", ["--parquet", str(parquet_dir)])):
        out = work / f"metrics_{engine}.json"
        argv = [sys.executable, "-m", "analytics", "metrics", "--engine", engine, *source,
                *(extra or []), "--json", str(out)]
        runs[engine] = run_measured(argv)
        runs[engine]["json"] = str(out)
    result: dict[str, Any] = {"runs": runs}
    if all(r["returncode"] == 0 for r in runs.values()):
        a = json.loads(Path(runs["spark"]["json"]).read_text(encoding="utf-8"))
        b = json.loads(Path(runs["duckdb"]["json"]).read_text(encoding="utf-8"))
        diffs = differences(a, b)
        result["same_json"] = not diffs
        result["differences"] = diffs
    return result


def report_lines(result: dict[str, Any]) -> list[str]:
    """The figures as console lines."""
    lines = [f"{'engine':<8}{'wall s':>9}{'CPU s':>9}{'peak MB':>9}{'load':>12}  exit"]
    for engine, r in result["runs"].items():
        lines.append(f"{engine:<8}{r['wall_s']:>9.1f}{r['cpu_s']:>9.1f}{r['peak_rss_mb']:>9.0f}"
                     f"{r['load_before']:>6.1f}→{r['load_after']:<5.1f}  {r['returncode']}")
        lines += [f"  {ln}" for ln in r["stderr_tail"]]
    if "same_json" in result:
        lines.append("same JSON within the parity tolerances: "
                     + ("yes" if result["same_json"] else "NO"))
        lines += [f"  {d}" for d in result["differences"][:10]]
    return lines
