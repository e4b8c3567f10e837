"""Connection, per-session cursor, and the global sidebar filters.

One DuckDB connection per server process (``st.cache_resource``), opened read-write so
the Data page can import — read-only on a command or public server (``CSO_TIER``, see
:mod:`analytics.privacy`), which offers no upload, save or import; every session gets its
own cursor, wrapped as its own Ibis backend (a DuckDB connection is not thread-safe;
cursors are).

The global filters live in ``st.session_state`` under the keys below and are mirrored
into the URL query string, so a view can be shared and survives page changes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from analytics import catalog, db, engines, facts, labels, privacy
from analytics.core import options, periods
from analytics.errors import DatabaseError
from analytics.filters import QUERY_PARAM_KEYS, Filters
from ui.text import md, plain

log = logging.getLogger(__name__)

# Session-state keys (the only place they are spelled out).
KEY_CURSOR = "cso_cursor"
KEY_BACKEND = "cso_backend"
KEY_FILTERS = "cso_filters"
KEY_DATES = "flt_dates"
KEY_DISTRICTS = "flt_districts"
KEY_BEATS = "flt_beats"
KEY_PRIORITIES = "flt_priorities"
KEY_CATEGORIES = "flt_categories"
KEY_FILTERS_INIT = "flt_initialised"
KEY_QP_NOTICE = "flt_link_notice"
KEY_PUBLIC_PERIOD = "flt_public_period"


def engine() -> engines.Engine:
    """The engine this server computes on: ``$CSO_ENGINE`` (``duckdb``, default, or
    ``spark``, which serves the Parquet export in ``$CSO_PARQUET``, read-only)."""
    name = os.environ.get("CSO_ENGINE", "duckdb")
    options.check("CSO_ENGINE", name, engines.Engine)
    return name  # type: ignore[return-value]


def db_path() -> Path:
    """The data this app serves: the database file ($CSO_DB or data/cso.duckdb), or with
    ``CSO_ENGINE=spark`` the Parquet export folder ($CSO_PARQUET)."""
    if engine() == "spark":
        folder = os.environ.get("CSO_PARQUET")
        if not folder:
            raise DatabaseError("CSO_ENGINE=spark needs CSO_PARQUET=DIR, a folder written by "
                                "`python -m analytics export --parquet DIR`")
        return Path(folder)
    return db.resolve_db_path()


def policy() -> privacy.Policy:
    """This server's privacy policy (tier from its configuration, never from a visitor),
    with the database's sensitive call types and beat → district parents."""
    base = privacy.server_policy()
    if base.tier == "analyst":
        return base
    return _policy_for(str(db_path()), base.tier, base.k, base.period_unit)


def read_only() -> bool:
    """True on a command or public server, or on Spark (a Parquet snapshot): no upload,
    save or import anywhere."""
    return privacy.server_policy().read_only or engine() == "spark"


@st.cache_resource(show_spinner=False)
def _policy_for(path: str, tier: str, k: int, unit: str) -> privacy.Policy:
    backend = db.ibis_backend(_open(path).cursor())
    return privacy.for_data(privacy.Policy(tier, k, period_unit=unit), backend)  # type: ignore[arg-type]


def _open(path: str) -> Any:
    """The server's connection: read-only on a command or public server. On Spark, an
    embedded DuckDB over the same Parquet files serves what is not Ibis metric code yet
    (settings, data presence, map SQL, evaluation panels: docs/scale.md)."""
    if engine() == "spark":
        return _parquet_connection(path)
    return _connection(path, read_only())


# -- sharing the database file with the command line -------------------------------------
# DuckDB lets one process write a file, or many processes read it. An analyst server holds
# its database READ-ONLY at rest, so `python -m analytics info` (and other read commands)
# work while it runs, and takes the write lock only while a write runs (an import, a saved
# target): `writing()` waits for the other sessions' page runs to finish (new ones wait
# for it), closes the read-only connection, opens the file read-write, and afterwards
# reopens it read-only. Sessions hold `LiveCursor`s, which follow that switch.
WRITE_WAIT_S = 30.0  # how long a write waits for page runs, or for another program


class _Server:
    """The analyst server's connection to one database file (see the comment above)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.con: Any = None
        self.rw: Any = None
        self.generation = 0
        self.cond = threading.Condition()
        self.readers: dict[int, int] = {}
        self.writer: int | None = None
        self.write_lock = threading.Lock()

    def connection(self) -> tuple[int, Any]:
        """(generation, connection) for the calling thread: the write connection inside
        its own ``writing()``, else the read-only one (waiting while another thread writes)."""
        me = threading.get_ident()
        with self.cond:
            if self.writer == me:
                return self.generation, self.rw
            self.cond.wait_for(lambda: self.writer is None, timeout=WRITE_WAIT_S * 4)
            if self.writer is not None:
                raise DatabaseError("an import is still running; reload the page in a moment")
            if self.con is None:
                self.con = _open_shared(self.path)
            return self.generation, self.con

    @contextmanager
    def reading(self) -> Iterator[None]:
        me = threading.get_ident()
        with self.cond:
            if self.writer is not None and self.writer != me:
                note = st.empty()
                note.info("⏳ An import is running; this page loads when it has finished.")
                self.cond.wait_for(lambda: self.writer is None, timeout=WRITE_WAIT_S * 4)
                note.empty()
            self.readers[me] = self.readers.get(me, 0) + 1
        try:
            yield
        finally:
            with self.cond:
                self.readers[me] -= 1
                if not self.readers[me]:
                    del self.readers[me]
                self.cond.notify_all()

    def _others_reading(self, me: int) -> int:
        alive = {t.ident for t in threading.enumerate()}
        return sum(n for t, n in self.readers.items() if t != me and t in alive)

    @contextmanager
    def writing(self, wait_s: float = WRITE_WAIT_S) -> Iterator[Any]:
        me = threading.get_ident()
        if not self.write_lock.acquire(timeout=wait_s):
            raise DatabaseError("another import is running on this server; try again when it "
                                "has finished")
        try:
            with self.cond:
                self.writer = me
                if not self.cond.wait_for(lambda: not self._others_reading(me), timeout=wait_s):
                    self.writer = None
                    self.cond.notify_all()
                    raise DatabaseError("other visitors' pages are still loading; try again "
                                        "in a moment")
                if self.con is not None:
                    self.con.close()
                    self.con = None
                self.generation += 1
            try:
                self.rw = _open_for_writing(self.path, wait_s)
                try:
                    yield self.rw
                finally:
                    self.rw.close()
                    self.rw = None
            finally:
                with self.cond:
                    self.writer = None
                    self.generation += 1
                    self.cond.notify_all()
        finally:
            self.write_lock.release()


_SERVERS: dict[str, _Server] = {}
_SERVERS_LOCK = threading.Lock()


def _server(path: str) -> _Server:
    with _SERVERS_LOCK:
        return _SERVERS.setdefault(str(Path(path).resolve()), _Server(path))


def _open_shared(path: str) -> Any:
    """Open read-only; first build the derived tables if the file lacks them (a database
    created empty, or by an older version)."""
    con = _limited(db.connect(path, read_only=True))
    if db.scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'call_facts'"):
        return con
    con.close()
    from analytics import facts

    rw = _open_for_writing(path, WRITE_WAIT_S)
    try:
        facts.refresh_derived(rw)
    finally:
        rw.close()
    return _limited(db.connect(path, read_only=True))


_SPILL_DIR: list[str] = []


def _limited(con: Any) -> Any:
    """The server's read connection with DuckDB's memory capped (``$CSO_SERVER_MEMORY``,
    default ``db.SERVER_MEMORY_DEFAULT``) and a private folder (mode 0700, removed at
    exit) to spill to: pages' memory stays bounded whatever the data's size."""
    if not _SPILL_DIR:
        import atexit
        import shutil
        import tempfile

        _SPILL_DIR.append(tempfile.mkdtemp(prefix="cso_spill_"))
        atexit.register(shutil.rmtree, _SPILL_DIR[0], True)
    db.limit_server_memory(con, spill_dir=_SPILL_DIR[0])
    return con


def _open_for_writing(path: str, wait_s: float) -> Any:
    """Open read-write, retrying while another program (a CLI read) has the file open."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return db.connect(path)
        except DatabaseError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


class LiveCursor:
    """A session thread's cursor on the server's current connection: after a write
    switched the connection it opens a new cursor (with the settings ibis gives its
    connection), so references a page holds stay usable."""

    _SETUP = ("SET TimeZone = 'UTC'", "SET python_enable_replacements = false")

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._gen = -1
        self._cur: Any = None

    def _live(self) -> Any:
        gen, con = self._server.connection()
        if gen != self._gen or self._cur is None:
            self._cur = con.cursor()
            for sql in self._SETUP:
                self._cur.execute(sql)
            self._gen = gen
        return self._cur

    def duckdb_cursor(self) -> Any:
        """The DuckDB cursor this stands for right now (see ``db.duckdb_connection``)."""
        return self._live()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._live(), name)


@contextmanager
def reading() -> Iterator[None]:
    """Around one script run (dashboard.py): a write waits until it has finished."""
    if read_only():
        yield
        return
    with _server(str(db_path())).reading():
        yield


@contextmanager
def writing() -> Iterator[Any]:
    """A read-write connection to the database for one write (an import, a saved target),
    held exclusively for as short as possible; raises DatabaseError when it must wait too
    long (other page runs, another program writing)."""
    if read_only():
        raise DatabaseError(f"this server is read-only ({privacy.server_policy().tier} tier)")
    with _server(str(db_path())).writing() as con:
        yield con
        _refresh_claims(con)


def _refresh_claims(con: Any) -> None:
    """After a write: the programme's claims stored again if what they read changed (an
    import, a call-type or area edit), so the next Evaluation visit reads them; nothing
    when they are current (a saved target). A failure leaves the page to compute them."""
    from analytics.evaluation.claims_cache import refresh_stored

    try:
        with st.spinner("Updating the programme's claims for the Evaluation page…"):
            refresh_stored(con)
    except Exception:  # noqa: BLE001 - the write itself has been committed
        log.exception("claims not stored after a write")


@st.cache_resource(show_spinner=False)
def _parquet_connection(path: str) -> Any:
    return engines.duckdb_parquet_connection(path)


@st.cache_resource(show_spinner=False)
def _spark_backend(path: str) -> Any:
    return engines.spark_backend(path)


@st.cache_resource(show_spinner=False)
def _connection(path: str, read_only: bool = False) -> Any:
    if read_only:
        con = _limited(db.connect(path, read_only=True))
        if not db.scalar(con, "SELECT count(*) FROM duckdb_tables() "
                              "WHERE table_name = 'call_facts'"):
            raise DatabaseError(f"{path} has no derived tables yet; open it once with the "
                                "analyst tier (or run `python -m analytics import`) first")
        return con
    con = db.connect(path)
    # A database created empty (a department starting from its own exports) or by an
    # older version has no derived tables yet: build them once, so every page can query.
    if not db.scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'call_facts'"):
        facts.refresh_derived(con)
    return con


# Libraries only some pages use and that take seconds to import (statsmodels and scipy
# behind the Evaluation page's estimators; the offline map library). Imported once per
# server in the background after the first page view, so that the first visit to those
# pages does not pay for it.
WARM_MODULES = ("analytics.evaluation", "offlinefolium")
WARM_UP_THREAD = "cso-warm-up"  # ui/serve.py's warm start waits for it


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Start (once per server process) a daemon thread that imports ``WARM_MODULES``."""
    import importlib

    def run() -> None:
        for name in WARM_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the page will import it again and report
                log.exception("background import of %s failed", name)

    t = threading.Thread(target=run, name=WARM_UP_THREAD, daemon=True)
    t.start()
    return t


def ensure_database() -> None:
    """With no database file yet, let the user choose: the demo city or their own data.

    Demo data is never written into a file the user named (``$CSO_DB``) or into a file
    that exists: "explore the demo city" is offered only for the default path
    (``data/cso.duckdb``); "start with your own data" creates an empty database
    (:func:`analytics.facts.init_database`) and opens the Data page.
    """
    try:
        path = db_path()
    except DatabaseError as exc:  # CSO_ENGINE=spark without CSO_PARQUET
        st.error(plain(exc))
        st.stop()
    if path.exists():
        return
    if read_only():
        st.error(md("There is no database at {}, and this server is read-only ({} tier): ask "
                    "the analyst who runs it.", path, privacy.server_policy().tier))
        st.stop()
    default = path.resolve() == db.DEFAULT_DB_PATH.resolve()
    st.title("🚓 CSO Impact — first start")
    st.markdown(md("There is no database at {} yet. How do you want to start?", path))
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Explore the demo city** — a synthetic city with a million calls and a "
                    "staggered CSO roll-out (about half a minute to build). Every figure is "
                    "made up; pages say so.")
        demo = st.button("Explore the demo city", key="start_demo", disabled=not default)
        if not default:
            st.caption("The demo city is built only into the default `data/cso.duckdb`, "
                       "never into a file you named (`CSO_DB`): start the app without "
                       "`CSO_DB` to explore it.")
    with c2:
        st.markdown("**Start with your own data** — an empty database; then import your CAD "
                    "and RMS exports on the **Data** page.")
        own = st.button("Start with your own data", key="start_own", type="primary")
    if own:
        try:
            facts.init_database(path)
        except DatabaseError as exc:
            st.error(md("Cannot create the database: {}", exc))
            st.stop()
        st.switch_page("app_pages/data.py")
    if demo:
        from analytics import synthetic

        bar = st.progress(0.0, text="Building the demo city…")
        synthetic.build_demo_database(
            path, progress=lambda frac, msg: bar.progress(min(max(frac, 0.0), 1.0), text=msg)
        )
        bar.empty()
        st.rerun()
    st.stop()


def database_is_empty() -> bool:
    """True when the database has no calls and no incidents yet (pages then point to the
    Data page instead of drawing empty charts)."""
    con = get_con()
    return not db.scalar(con, "SELECT (SELECT count(*) FROM calls) + (SELECT count(*) FROM incidents)")


def empty_database_notice() -> bool:
    """Show "no data yet" with a link to the Data page and return True on an empty
    database; pages call it first and stop when it returns True."""
    if not database_is_empty():
        return False
    st.info("No data yet — import your CAD or RMS exports on the **Data** page.")
    st.page_link("app_pages/data.py", label="Go to the Data page", icon="📥")
    return True


def _this_run(key: str) -> dict[int, Any]:
    """Per-thread slots in session state, with finished threads' entries dropped.

    Streamlit's fast reruns start a new script run while the previous run's thread may
    still be inside a query; DuckDB refuses concurrent use of one cursor ("connection is
    busy"), so each script thread of a session gets its own cursor and backend.
    """
    slots = st.session_state.get(key)
    if not isinstance(slots, dict):
        slots = {}
        st.session_state[key] = slots
    alive = {t.ident for t in threading.enumerate()}
    for ident in [i for i in slots if i not in alive]:
        slots.pop(ident, None)
    return slots


def get_con() -> Any:
    """This session's DuckDB cursor (one per script thread; see :func:`_this_run`)."""
    slots = _this_run(KEY_CURSOR)
    tid = threading.get_ident()
    if tid not in slots:
        try:
            if read_only():
                slots[tid] = _open(str(db_path())).cursor()
            else:
                live = LiveCursor(_server(str(db_path())))
                live._live()  # open now, so a problem shows here
                slots[tid] = live
        except DatabaseError as exc:
            st.error(md("Cannot open the database: {}", exc))
            st.stop()
    return slots[tid]


def get_backend() -> Any:
    """This session's Ibis backend over its own cursor (one per script thread)."""
    slots = _this_run(KEY_BACKEND)
    tid = threading.get_ident()
    if tid not in slots:
        if engine() == "spark":  # one Spark session per server; it takes concurrent queries
            slots[tid] = _spark_backend(str(db_path()))
        else:
            slots[tid] = db.ibis_backend(get_con())
    return slots[tid]


def data_changed() -> None:
    """Call after an import: drop cached query results and the cached filter options."""
    from ui import cache

    cache.clear()


def filter_options(backend: Any) -> catalog.FilterOptions:
    """Sidebar choices, cached per database file (``ui.cache``)."""
    from ui.cache import cached

    return cached(catalog.filter_options, backend)


def data_presence() -> catalog.DataPresence:
    """Which tables hold data (cached per database file; cleared after an import)."""
    from ui.cache import cached

    return cached(catalog.data_presence, get_backend())


def is_demo() -> bool:
    """True when this database is the synthetic demo city (cached per database file)."""
    from ui.cache import cached

    return cached(catalog.is_demo, get_backend())


DEMO_NOTICE = (
    "**Demonstration data — not a real city.** Every number, map and verdict in this app "
    "comes from a made-up city that the software generated, with a CSO effect planted on "
    "purpose so that the methods can be checked. Nothing here describes a real police "
    "department."
)
# Only where the visitor can import (an analyst server): a read-only server has no Data page.
DEMO_NOTICE_IMPORT = " To see your own department, import its data on the **Data** page."


def synthetic_notice() -> None:
    """The synthetic-data notice, on every page while the database is the demo city."""
    if is_demo():
        st.info(DEMO_NOTICE + ("" if read_only() else DEMO_NOTICE_IMPORT), icon="🧪")


def current_filters() -> Filters:
    """The global filters set in the sidebar (no restriction before it has rendered)."""
    return st.session_state.get(KEY_FILTERS, Filters())


def _init_from_query_params(opts: catalog.FilterOptions) -> None:
    """Seed the widgets from the URL on a session's first run."""
    f, dropped = Filters.parse_query_params(st.query_params)
    lo, hi = opts.min_date, opts.max_date
    if lo and hi:
        start = min(max(f.start or lo, lo), hi)
        end = max(min(f.end or hi, hi), lo)
        st.session_state[KEY_DATES] = (start, end)
    unknown = list(dropped)
    for key, wanted, known, qp_key in (
            (KEY_DISTRICTS, f.districts, set(opts.districts), "district"),
            (KEY_BEATS, f.beats, set(dict(opts.beats)), "beat"),
            (KEY_PRIORITIES, f.priorities, set(opts.priorities), "priority"),
            (KEY_CATEGORIES, f.categories, set(opts.categories), "category")):
        st.session_state[key] = [v for v in wanted if v in known]
        unknown += [f"{qp_key}={v}" for v in wanted if v not in known]
    st.session_state[KEY_FILTERS_INIT] = True
    if unknown:
        shown = ", ".join(v[:60] for v in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        st.session_state[KEY_QP_NOTICE] = (
            f"Ignored {len(unknown)} filter value(s) from the link that this data does not "
            f"have or that are not valid: {shown}")


def _set_dates(start: dt.date, end: dt.date) -> None:
    st.session_state[KEY_DATES] = (start, end)


def _period_presets(lo: dt.date, hi: dt.date) -> None:
    """One-click periods under the date input: the last 12 months, the year to date, all
    data (each ends on the latest call date; the rules are in analytics.core.periods)."""
    last12, _ = periods.last_12_months(lo, hi)
    ytd, _ = periods.year_to_date(lo, hi)
    c1, c2, c3 = st.columns(3)
    c1.button("1 year", key="flt_last12", on_click=_set_dates, args=(last12, hi),
              help=f"The last 12 months: {last12:%d %b %Y} – {hi:%d %b %Y}", width="stretch")
    c2.button("YTD", key="flt_ytd", on_click=_set_dates, args=(ytd, hi),
              help=f"Year to date: {ytd:%d %b %Y} – {hi:%d %b %Y}", width="stretch")
    c3.button("All", key="flt_all", on_click=_set_dates, args=(lo, hi),
              help=f"All data: {lo:%d %b %Y} – {hi:%d %b %Y}", width="stretch")


def _public_period_filter(opts: catalog.FilterOptions, pol: privacy.Policy) -> Filters:
    """A public server's only filter: one period of the public grid (whole calendar years,
    or quarters), the whole city. A link's dates pick the period containing its end."""
    cells = periods.complete_cells(opts.min_date, opts.max_date, pol.period_unit)
    if cells:
        names = [periods.describe_cell(c, pol.period_unit) for c in cells]
        if st.session_state.get(KEY_PUBLIC_PERIOD) not in names:
            asked = st.session_state.get(KEY_DATES)
            cell = pol.public_period(asked[-1] if asked else None) or cells[0]
            st.session_state[KEY_PUBLIC_PERIOD] = names[cells.index(cell)]
        name = st.selectbox(
            "Year" if pol.period_unit == "year" else "Quarter", names, key=KEY_PUBLIC_PERIOD,
            help="The public view publishes whole calendar periods the data cover fully, "
                 "so that two views can never be subtracted to reveal a small count.")
        start, end = cells[names.index(name)]
    else:  # the data cover no whole period yet: the one containing the latest date
        start, end = ((periods.grid_cell(opts.max_date, pol.period_unit)) if opts.max_date
                      else (None, None))
    filters = privacy.scope_filters(Filters(start=start, end=end), pol)
    st.caption(md("Showing: {}. Public view: whole calendar {}, the whole city (tables split "
                  "it by area).", filters.describe(), f"{pol.period_unit}s"))
    st.caption(plain(pol.stamp()))
    st.session_state[KEY_FILTERS] = filters
    _mirror_url(filters)
    return filters


def sidebar_filters() -> Filters:
    """Render the global filters in the sidebar, mirror them into the URL, return them."""
    backend = get_backend()
    opts = filter_options(backend)
    if not st.session_state.get(KEY_FILTERS_INIT):
        _init_from_query_params(opts)
    pol = policy()
    with st.sidebar:
        st.markdown("### Filters")
        notice = st.session_state.pop(KEY_QP_NOTICE, None)
        if notice:
            st.warning(plain(notice))
        if pol.is_public:
            return _public_period_filter(opts, pol)
        start = end = None
        if opts.min_date and opts.max_date:
            dates = st.date_input(
                "Date range",
                min_value=opts.min_date,
                max_value=opts.max_date,
                key=KEY_DATES,
                help="Calls by date received, incidents by date occurred. "
                "The full range means no date restriction.",
            )
            _period_presets(opts.min_date, opts.max_date)
            if isinstance(dates, (tuple, list)) and len(dates) == 2:
                # The full span is "no restriction": pages then pick their own default period.
                span = Filters.for_span(*dates, data_min=opts.min_date,
                                        data_max=opts.max_date)
                start, end = span.start, span.end
        districts = st.multiselect("District", opts.districts, key=KEY_DISTRICTS,
                                   placeholder="All districts")
        beat_choices = opts.beats_in(tuple(districts))
        if KEY_BEATS in st.session_state:
            st.session_state[KEY_BEATS] = [b for b in st.session_state[KEY_BEATS]
                                           if b in beat_choices]
        beats = st.multiselect("Beat", beat_choices, key=KEY_BEATS, placeholder="All beats")
        priorities = st.multiselect("Priority", opts.priorities, key=KEY_PRIORITIES,
                                    placeholder="All priorities",
                                    help="1 = most urgent. Applies to calls only.")
        categories = st.multiselect("Call category", opts.categories, key=KEY_CATEGORIES,
                                    placeholder="All categories",
                                    format_func=labels.value_label,
                                    help="From the call-type crosswalk. Applies to calls only.")
        filters = privacy.scope_filters(
            Filters(start=start, end=end, districts=tuple(districts), beats=tuple(beats),
                    priorities=tuple(priorities), categories=tuple(categories)), pol)
        st.caption(f"Showing: {plain(filters.describe())}")
        if pol.tier != "analyst":
            st.caption(plain(pol.stamp()))
    st.session_state[KEY_FILTERS] = filters
    _mirror_url(filters)
    return filters


def _mirror_url(filters: Filters) -> None:
    # Only the filter keys are written: other parameters (a page's tab, the map layer, the
    # evaluation settings) are bound to their widgets and must stay in the URL.
    wanted = filters.to_query_params()
    normalised = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    for k in QUERY_PARAM_KEYS:
        have = st.query_params.get_all(k)
        if k not in normalised and have:
            del st.query_params[k]
        elif k in normalised and have != normalised[k]:
            st.query_params[k] = normalised[k]
    return filters
