"""Start the dashboard warm: ``python -m ui.serve [streamlit options]``.

The same server as ``streamlit run dashboard.py [options]`` (every option is passed on;
``make run`` uses this), plus a **warm start**: as soon as the server listens, before any
visitor, it runs the app headlessly — in sessions with no browser, as Streamlit's own
script-health check does — on every page's default view (no filters) and on every lazy
tab of it (:func:`ui.navigation.views`: the default page first, then the pages in
navigation order). Those runs import the libraries, open the database connection, fill
the shared result cache (:mod:`ui.cache`) with each view's results and run the background
imports of ``ui.state.warm_up`` (the line below is printed when all have finished). The
first visitor then gets what every later visitor gets: cached results and imported
libraries, on every page and on every tab's first click, not only on the Overview
(issue 16: a tab's first click cost 0.9–2.4 CPU-s at 10 M calls before). Then every
page once more under three filters (:func:`ui.navigation.filter_variants`: the last
district, that district over the "1 year" period, the "1 year" city-wide), so that the
SQL shapes of a district or period filter are compiled before anyone changes a filter
(0.3–0.6 CPU-s of a page's first filter change before). Last, :func:`_freeze_heap`.

A visitor who arrives while the warm start still runs does not pay for it twice: Python
imports each module once (its import lock), and Streamlit computes one cache key once
(``st.cache_data`` holds a lock per key; a second caller waits for the first result).

When it has finished, the server prints one line to stderr::

    CSO Impact: warm start ok in 38.2 s (112 results computed, 45 views)

``CSO_WARM_START=0`` turns it off (the server then starts as ``streamlit run`` does). A
failure of the warm start is printed and leaves the server running: a visitor's first run
then does the work, as without it; a view whose run fails is skipped (its first visitor
sees the error) and the line counts only the views that ran. The runs are one after the
other, so a visitor during the warm start shares the two cores with one of them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: How long the warm start waits for the server to start listening.
START_WAIT_S = 120.0
#: The line printed when the warm start has finished (tests and benchmarks wait for it).
DONE_PREFIX = "CSO Impact: warm start"


def streamlit_argv(options: list[str]) -> list[str]:
    """``streamlit run dashboard.py`` with ``options`` (what ``cli.main`` reads)."""
    return ["streamlit", "run", str(ROOT / "dashboard.py"), *options]


def enabled() -> bool:
    """False when ``CSO_WARM_START`` is ``0`` (or ``false``/``no``/``off``)."""
    return os.environ.get("CSO_WARM_START", "1").strip().lower() not in ("0", "false", "no",
                                                                        "off")


def _runtime(timeout_s: float) -> Any:
    """The server's runtime once it accepts sessions (None if it does not in time)."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.runtime import RuntimeState

    deadline = time.monotonic() + timeout_s
    while not (Runtime.exists() and Runtime.instance().state in (
            RuntimeState.NO_SESSIONS_CONNECTED, RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED)):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    return Runtime.instance()


async def _run_view(runtime: Any, page: str, query: str, timeout_s: float) -> bool:
    """Run the app once in a session with no browser on page ``page`` (its URL path; ""
    for the default page) with the query string ``query`` — what
    ``Runtime.does_script_run_without_error`` (Streamlit's script-health check) does for
    the default page, with a page and a query string. True when the run ended without an
    error."""
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.script_data import ScriptData
    from streamlit.runtime.state import SCRIPT_RUN_WITHOUT_ERRORS_KEY

    session = AppSession(  # the health check's own construction (no public factory)
        script_data=ScriptData(runtime._main_script_path, runtime._is_hello),  # noqa: SLF001
        uploaded_file_manager=runtime._uploaded_file_mgr,  # noqa: SLF001
        script_cache=runtime._script_cache,  # noqa: SLF001
        message_enqueued_callback=runtime._enqueued_some_message,  # noqa: SLF001
        user_info={"email": "warm-start@localhost"})
    try:
        session.request_rerun(ClientState(page_name=page, query_string=query))
        deadline = time.perf_counter() + timeout_s
        while (SCRIPT_RUN_WITHOUT_ERRORS_KEY not in session.session_state
               and time.perf_counter() < deadline):
            await asyncio.sleep(0.05)
        return bool(session.session_state[SCRIPT_RUN_WITHOUT_ERRORS_KEY]) \
            if SCRIPT_RUN_WITHOUT_ERRORS_KEY in session.session_state else False
    finally:
        session.shutdown()


def _run_views(timeout_s: float) -> tuple[bool, str, int]:
    """Wait for the server's runtime, then run each view of :func:`ui.navigation.views`
    (the default view first) on the runtime's event loop, one after the other. Returns
    (the default view ran without error, what went wrong, views that ran without error).
    A view that fails is left to its first visitor (who then sees the error)."""
    from ui import navigation, state

    runtime = _runtime(timeout_s)
    if runtime is None:
        return False, "the server did not start", 0
    loop = runtime._get_async_objs().eventloop  # noqa: SLF001 - no public accessor

    def run(page: str, query: str) -> bool:
        got = asyncio.run_coroutine_threadsafe(_run_view(runtime, page, query, timeout_s), loop)
        return bool(got.result())

    plain = navigation.views(read_only=state.read_only())
    if not run(*plain[0]):
        return False, "error", 0
    # the first run started ui.state.warm_up (the other pages' libraries): the other
    # views wait for it rather than import the same modules beside it
    for t in threading.enumerate():
        if t.name == state.WARM_UP_THREAD:
            t.join(timeout_s)
    done = 1 + sum(run(page, query) for page, query in plain[1:])
    variants = _filter_variants()
    if variants:
        views = navigation.views(read_only=state.read_only(), variants=variants)
        done += sum(run(page, query) for page, query in views[len(plain):])
    return True, "ok", done


def _filter_variants() -> tuple[str, ...]:
    """:func:`ui.navigation.filter_variants` of the served database (its districts and
    the sidebar's "1 year"), read on a read-only connection of this process (the one the
    pages use is the same DuckDB instance); none on Spark or when that fails."""
    from analytics import catalog, db
    from analytics.core import periods
    from ui import navigation, state

    if state.engine() == "spark":
        return ()
    try:
        con = db.connect(state.db_path(), read_only=True)
    except Exception:  # noqa: BLE001 - then only the default views are warm
        return ()
    try:
        opts = catalog.filter_options(db.ibis_backend(con))
    except Exception:  # noqa: BLE001 - e.g. a database with no calls yet
        return ()
    finally:
        con.close()
    span = (None if opts.min_date is None or opts.max_date is None else
            (periods.last_12_months(opts.min_date, opts.max_date)[0], opts.max_date))
    return navigation.filter_variants(tuple(opts.districts), span)


def _freeze_heap() -> None:
    """Move every object alive after the warm start (modules, compiled SQL, the default
    views' results) to the garbage collector's permanent generation (``gc.freeze``).

    Streamlit runs a full collection after every script run (``runner.postScriptGC``),
    and a full collection walks every tracked object: with the libraries and the cached
    views of the warm start loaded that walk was 0.4–0.5 CPU-s of each filter change at
    10 M calls (py-spy, issue 16) — the largest single cost of an interaction. Frozen
    objects are never walked; they live as long as the server does anyway (a module, a
    cached result the cache itself drops is freed by reference counting as before). The
    collection after each run still frees that run's own cycles."""
    import gc

    gc.collect()
    gc.freeze()


def warm_start(timeout_s: float = START_WAIT_S) -> threading.Thread:
    """Start the warm start in a daemon thread (it waits for the server to listen)."""

    def run() -> None:
        from ui import cache

        t0, n0 = time.perf_counter(), cache.computed()
        views = 0
        try:
            ok, msg, views = _run_views(timeout_s)
        except Exception as exc:  # noqa: BLE001 - the server runs on without a warm start
            ok, msg = False, f"{type(exc).__name__}: {exc}"
        _freeze_heap()
        done = "ok" if ok else f"failed ({msg})"
        print(f"{DONE_PREFIX} {done} in {time.perf_counter() - t0:.1f} s "
              f"({cache.computed() - n0} results computed, {views} views)", file=sys.stderr,
              flush=True)

    t = threading.Thread(target=run, name="cso-warm-start", daemon=True)
    t.start()
    return t


def main(argv: list[str] | None = None) -> int:
    """Serve the dashboard (``streamlit run`` with ``argv``), warm-started unless
    ``CSO_WARM_START=0``."""
    from streamlit.web import cli

    sys.argv = streamlit_argv(list(sys.argv[1:] if argv is None else argv))
    if enabled():
        warm_start()
    return cli.main()


if __name__ == "__main__":
    raise SystemExit(main())
