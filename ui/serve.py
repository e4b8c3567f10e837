"""Start the dashboard warm: ``python -m ui.serve [streamlit options]``.

The same server as ``streamlit run dashboard.py [options]`` (every option is passed on;
``make run`` uses this), plus a **warm start**: as soon as the server listens, before any
visitor, it runs the app once headlessly — Streamlit's own script check, a session with no
browser — on its default view (the Overview, no filters). That run imports the libraries,
opens the database connection, fills the shared result cache (:mod:`ui.cache`) with the
default view's results and runs the background imports of ``ui.state.warm_up`` (the
line below is printed when those have finished too). The first visitor then gets what
every later visitor gets: cached results and imported libraries.

A visitor who arrives while the warm start still runs does not pay for it twice: Python
imports each module once (its import lock), and Streamlit computes one cache key once
(``st.cache_data`` holds a lock per key; a second caller waits for the first result).

When it has finished, the server prints one line to stderr::

    CSO Impact: warm start ok in 4.1 s (5 results computed)

``CSO_WARM_START=0`` turns it off (the server then starts as ``streamlit run`` does). A
failure of the warm start is printed and leaves the server running: a visitor's first run
then does the work, as without it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

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


def _run_default_view(timeout_s: float) -> tuple[bool, str]:
    """Wait for the server's runtime, then run the app once in a session with no browser
    (``Runtime.does_script_run_without_error``, the check behind Streamlit's
    script-health endpoint) on the runtime's event loop."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.runtime import RuntimeState

    deadline = time.monotonic() + timeout_s
    while not (Runtime.exists() and Runtime.instance().state in (
            RuntimeState.NO_SESSIONS_CONNECTED, RuntimeState.ONE_OR_MORE_SESSIONS_CONNECTED)):
        if time.monotonic() > deadline:
            return False, "the server did not start"
        time.sleep(0.05)
    runtime = Runtime.instance()
    loop = runtime._get_async_objs().eventloop  # noqa: SLF001 - no public accessor
    check = asyncio.run_coroutine_threadsafe(runtime.does_script_run_without_error(), loop)
    ok, msg = check.result()
    return bool(ok), str(msg)


def warm_start(timeout_s: float = START_WAIT_S) -> threading.Thread:
    """Start the warm start in a daemon thread (it waits for the server to listen)."""

    def run() -> None:
        from ui import cache, state

        t0, n0 = time.perf_counter(), cache.computed()
        try:
            ok, msg = _run_default_view(timeout_s)
            # the run started ui.state.warm_up (the other pages' libraries): done when it is
            for t in threading.enumerate():
                if t.name == state.WARM_UP_THREAD:
                    t.join(timeout_s)
        except Exception as exc:  # noqa: BLE001 - the server runs on without a warm start
            ok, msg = False, f"{type(exc).__name__}: {exc}"
        done = "ok" if ok else f"failed ({msg})"
        print(f"{DONE_PREFIX} {done} in {time.perf_counter() - t0:.1f} s "
              f"({cache.computed() - n0} results computed)", file=sys.stderr, flush=True)

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
