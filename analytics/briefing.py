"""The council briefing: a 2–4 page report, always in the public privacy tier.

Built from the same analytics as the pages and released with the public tier
(:mod:`analytics.privacy`) whatever the server's own tier:

1. headline findings — the programme's claims answered by the evaluation engine
   (:func:`analytics.evaluation.answer_claims`), each a plain sentence with the effect
   size and its 95 % confidence interval;
2. a KPI table: the period against the same dates a year earlier (the Overview's cards);
3. charts as static images: the claims' effects with their intervals, and calls and
   crime per month;
4. a map image of the CSO deployment areas and the before/after change in crime by
   district, drawn from the ``areas`` boundaries (no map tiles);
5. methods and caveats in plain language, data sources and date range, the time it was
   generated, and a "synthetic data" notice for the demo city.

:func:`briefing_html` is self-contained (images inlined as data URIs, no external URL);
:func:`briefing_pdf` renders it with WeasyPrint. ``python -m analytics briefing`` writes
either from the command line.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import json
import logging
import math
import threading
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from analytics import catalog, db, overview, privacy
from analytics.core import clock, periods
from analytics.core.results import Result
from analytics.filters import Filters

if TYPE_CHECKING:  # plotly is imported when a chart is drawn
    import plotly.graph_objects as go

log = logging.getLogger(__name__)

__all__ = ["Briefing", "Finding", "ReportingPeriod", "briefing_html", "briefing_pdf",
           "build_briefing", "reporting_period"]

CHART_W, CHART_H = 900, 380


@dataclass(frozen=True)
class Finding(Result):
    """One headline finding: a programme claim and the evaluation engine's answer."""

    key: str
    question: str
    verdict: str
    sentence: str
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    scale: str = "difference"
    unit: str = ""
    p_value: float | None = None
    note: str = ""

    @property
    def effect_pct(self) -> tuple[float, float, float] | None:
        """(estimate, CI low, CI high) as percent changes for rate ratios, else None."""
        if self.scale not in ("ratio", "log") or self.estimate is None:
            return None
        conv = (lambda x: x) if self.scale == "ratio" else math.exp
        return tuple(100 * (conv(v) - 1) for v in (self.estimate, self.ci_low, self.ci_high))  # type: ignore[return-value]


@dataclass(frozen=True)
class Briefing(Result):
    """Everything the briefing shows, already released for the public tier."""

    title: str
    generated_at: dt.datetime
    policy: privacy.Policy
    period: overview.Period | None
    kpis: tuple[overview.Kpi, ...]
    findings: tuple[Finding, ...]
    districts: pd.DataFrame = field(compare=False)
    monthly: pd.DataFrame = field(compare=False)
    change: pd.DataFrame = field(compare=False)
    change_label: str = ""
    deployments: pd.DataFrame = field(compare=False, default_factory=pd.DataFrame)
    shapes: pd.DataFrame = field(compare=False, default_factory=pd.DataFrame)
    sources: pd.DataFrame = field(compare=False, default_factory=pd.DataFrame)
    synthetic: bool = False
    claims_range: str = ""


def _public_policy(backend: Any) -> privacy.Policy:
    server = privacy.server_policy()
    return privacy.for_data(
        privacy.Policy("public", server.k, period_unit=server.period_unit), backend)


@dataclass(frozen=True)
class ReportingPeriod:
    """A public reporting period: one whole cell of the grid ("2025", or "Q3 2025")."""

    start: dt.date
    end: dt.date
    label: str
    unit: periods.GridUnit


def reporting_period(con: Any, *, start: dt.date | None = None, end: dt.date | None = None
                     ) -> ReportingPeriod | None:
    """The briefing's period: the public grid cell (a whole calendar year by default, see
    :func:`analytics.core.periods.public_period`) that contains ``end`` (else ``start``),
    or the latest one the data cover when neither is given — the same rule, in the same
    place, as the public sidebar's period. None without data."""
    backend = db.ibis_backend(con)
    policy = _public_policy(backend)
    cell = _cell(policy, start, end)
    if cell is None:
        return None
    return ReportingPeriod(*cell, periods.describe_cell(cell, policy.period_unit),
                           policy.period_unit)


def _cell(policy: privacy.Policy, start: dt.date | None, end: dt.date | None
          ) -> tuple[dt.date, dt.date] | None:
    cell = policy.public_period(end or start)
    if cell is None and policy.data_span is not None:  # no whole cell yet: the latest one
        cell = periods.grid_cell(policy.data_span[1], policy.period_unit)
    return cell


def build_briefing(con: Any, *, start: dt.date | None = None, end: dt.date | None = None,
                   now: dt.datetime | None = None) -> Briefing:
    """Compute the briefing on a DuckDB connection for the public period containing
    ``end`` (else ``start``; default the latest, :func:`reporting_period`)."""
    from analytics import maps
    from analytics.evaluation import answer_claims

    backend = db.ibis_backend(con)
    policy = _public_policy(backend)
    opts = catalog.filter_options(backend)
    start, end = _cell(policy, start, end) or (None, None)
    filters = privacy.scope_filters(Filters(start=start, end=end), policy)
    period, kpis = overview.overview_kpis(backend, filters, opts.min_date, opts.max_date)
    kpis = tuple(privacy.release(list(kpis), policy))
    districts = pd.DataFrame()
    if period is not None:
        districts = privacy.release_frame(overview.by_district(backend, filters, period).frame,
                                           policy)

    # The claims: the evaluation engine (the same call as the Evaluation page's claims) on
    # every month of data up to the end of the period — a before/after evaluation needs
    # the months before the CSOs started, not just the reporting year.
    claim_dates = Filters(end=filters.end)
    findings = []
    caveats: list[str] = []
    for r in answer_claims(con, filters=claim_dates):
        e = r.estimate
        findings.append(Finding(
            r.claim.key, r.claim.question, r.verdict, r.sentence,
            None if e is None else float(e.estimate), None if e is None else float(e.ci_low),
            None if e is None else float(e.ci_high), "difference" if e is None else e.scale,
            "" if e is None else e.unit, None if e is None else float(e.p_value),
            r.claim.note))
        if e is not None:
            caveats += [c for c in e.caveats if c not in caveats]

    monthly = _monthly_calls_and_crime(backend, filters, policy)
    shapes = maps.area_shapes(backend, "district")
    beats = maps.area_shapes(backend, "beat")
    dep = maps.deployment_areas(backend).frame
    change, change_label = pd.DataFrame(), ""
    windows = maps.default_change_windows(backend)
    if windows:
        w = windows[0]
        ch = maps.change_by_area(backend, Filters(exclude_sensitive=True), "district", "incidents",
                                 w, shapes=shapes)
        change = privacy.release_frame(ch.frame, policy)
        change_label = (f"Crime incidents, {w.before_start:%d %b %Y} – {w.before_end:%d %b %Y} "
                        f"against {w.after_start:%d %b %Y} – {w.after_end:%d %b %Y} "
                        f"(around the first CSO start)")
    synthetic = catalog.is_demo(con)
    span = (f"{opts.min_date:%d %b %Y} – {opts.max_date:%d %b %Y}"
            if opts.min_date and opts.max_date else "no data")
    return Briefing(
        title="CSO programme — council briefing",
        generated_at=(now or dt.datetime.now().astimezone()).replace(microsecond=0),
        policy=policy, period=period, kpis=kpis, findings=tuple(findings),
        districts=districts, monthly=monthly, change=change, change_label=change_label,
        deployments=dep.drop(columns=[c for c in ("note",) if c in dep.columns]),
        shapes=pd.concat([shapes.assign(level="district"), beats.assign(level="beat")]),
        sources=_sources(backend), synthetic=synthetic, caveats=tuple(caveats),
        claims_range=(f"all data up to {claim_dates.end:%d %b %Y}" if claim_dates.end
                      else f"all data ({span})"))


def _monthly_calls_and_crime(backend: Any, filters: Filters, policy: privacy.Policy
                             ) -> pd.DataFrame:
    """Citywide calls (sensitive types left out) and crime incidents per month."""
    from analytics import crime_trends

    f = backend.table("call_facts")
    calls = filters.with_(start=None, end=None).apply(f)
    calls = (calls.group_by("month").aggregate(calls=calls.count(),
                                               cso_calls=calls.cso_primary.sum())
             .order_by("month").execute())
    inc = crime_trends.monthly_counts(backend, Filters(), by_category=False).frame
    inc = inc.rename(columns={"incidents": "crime_incidents"})[["month", "crime_incidents"]]
    calls["month"] = pd.to_datetime(calls["month"])
    inc["month"] = pd.to_datetime(inc["month"])
    out = calls.merge(inc, on="month", how="outer").sort_values("month")
    return privacy.release_frame(out.reset_index(drop=True), policy)


def _sources(backend: Any) -> pd.DataFrame:
    """What the briefing is built from: each table's rows and date range (no file names,
    which are free text). One Ibis aggregate per table, so it runs on any engine."""
    rows = []
    for table, col, what in (("calls", "received_at", "Calls for service (CAD)"),
                             ("incidents", "occurred_at", "Crime reports (RMS)"),
                             ("deployments", "start_date", "CSO deployment periods"),
                             ("areas", None, "Beat and district boundaries")):
        t = backend.table(table)
        aggs = {"n": t.count()}
        if col is not None:
            when = clock.local(t[col]) if table in db.EVENT_TIME_COLUMNS else t[col]
            aggs |= {"lo": when.min(), "hi": when.max()}
        got = t.aggregate(**aggs).execute().iloc[0]
        n = int(got["n"] or 0)
        lo, hi = (got["lo"], got["hi"]) if col is not None and n else (None, None)
        rows.append({"source": what, "rows": n,
                     "from": None if pd.isna(lo) else pd.Timestamp(lo).date(),
                     "to": None if pd.isna(hi) else pd.Timestamp(hi).date()})
    return pd.DataFrame(rows)


# -- images ---------------------------------------------------------------------------------
_KALEIDO = threading.Lock()


def render_pngs(figs: list[tuple[Any, int, int]]) -> list[bytes]:
    """PNG images of plotly figures (width, height in px), drawn by one headless
    chromium (kaleido) for all of them; one drawing at a time per process."""
    import kaleido

    with _KALEIDO:
        kaleido.start_sync_server(silence_warnings=True)
        try:
            return [_png(f, w, h) for f, w, h in figs]
        finally:
            kaleido.stop_sync_server(silence_warnings=True)


def _png(fig: Any, width: int = CHART_W, height: int = CHART_H) -> bytes:
    import plotly.io as pio

    fig.update_layout(template="plotly_white", width=width, height=height,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50},
                      font={"family": "DejaVu Sans, Arial, sans-serif", "size": 13})
    with warnings.catch_warnings():  # "kopts ignored with a server": we pass none
        warnings.simplefilter("ignore", UserWarning)
        return pio.to_image(fig, format="png", width=width, height=height, scale=2)


def findings_chart(findings: tuple[Finding, ...]) -> go.Figure:
    """The claims' effects with 95 % CIs (percent change for counts, minutes for times)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ok = [f for f in findings if f.estimate is not None
          and all(v is not None and math.isfinite(v) for v in (f.estimate, f.ci_low, f.ci_high))]
    pct = [f for f in ok if f.effect_pct is not None]
    mins = [f for f in ok if f.effect_pct is None]
    groups = [(g, t, c) for g, t, c in (
        (pct, "Counts: change in %", lambda f: f.effect_pct),
        (mins, "Response times: change in minutes", lambda f: (f.estimate, f.ci_low,
                                                               f.ci_high))) if g]
    fig = make_subplots(rows=len(groups) or 1, cols=1, vertical_spacing=0.25,
                        row_heights=[max(len(g), 1) for g, _, _ in groups] or None,
                        subplot_titles=[t for _, t, _ in groups])
    for row, (group, _, conv) in enumerate(groups, start=1):
        vals = [conv(f) for f in group]
        fig.add_trace(go.Scatter(
            x=[v[0] for v in vals], y=[_short(f.question) for f in group], mode="markers",
            marker={"size": 11, "color": "#1f4e79"},
            error_x={"type": "data", "symmetric": False,
                     "array": [v[2] - v[0] for v in vals],
                     "arrayminus": [v[0] - v[1] for v in vals], "thickness": 2, "width": 6},
            showlegend=False), row=row, col=1)
        fig.add_vline(x=0, line_dash="dash", line_color="#888", row=row, col=1)
    fig.update_layout(title="Programme claims: estimated effect and 95 % confidence interval "
                            "(dashed line: no change)")
    return fig


def _short(question: str) -> str:
    q = question.removeprefix("Did ").rstrip("?")
    return q if len(q) <= 48 else q[:46].rsplit(" ", 1)[0] + " …"


def monthly_chart(monthly: pd.DataFrame) -> go.Figure:
    """Calls for service and crime incidents per month, citywide (two panels)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    m = monthly.dropna(subset=["month"])
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("Calls for service per month",
                                        "Crime incidents per month"))
    fig.add_trace(go.Scatter(x=m["month"], y=m["calls"], name="all calls",
                             line={"color": "#1f4e79"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=m["month"], y=m["cso_calls"], name="handled by a CSO",
                             line={"color": "#7b3294"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=m["month"], y=m["crime_incidents"], name="crime incidents",
                             line={"color": "#b35806"}), row=1, col=2)
    fig.update_layout(legend={"orientation": "h", "y": -0.15})
    return fig


def _rings(geometry: Any) -> list[list[list[float]]]:
    g = geometry if isinstance(geometry, dict) else json.loads(str(geometry))
    if g.get("type") == "Polygon":
        return [g["coordinates"][0]]
    if g.get("type") == "MultiPolygon":
        return [p[0] for p in g["coordinates"]]
    return []


def map_figure(b: Briefing) -> go.Figure:
    """Districts coloured by the before/after change in crime (suppressed districts grey),
    CSO deployment beats outlined in purple; boundaries only, no tiles."""
    import plotly.graph_objects as go

    fig = go.Figure()
    change = b.change.set_index("area_id") if len(b.change) else pd.DataFrame()
    districts = b.shapes[b.shapes["level"] == "district"]
    vmax = 1.0
    if len(change) and change["pct"].notna().any():
        vmax = max(float(change["pct"].abs().max()), 1.0)
    for r in districts.itertuples():
        pct = change["pct"].get(r.area_id) if len(change) else None
        if pct is None or pd.isna(pct):
            color, text = "#d9d9d9", "suppressed or too few"
        else:
            color, text = _diverging(float(pct) / vmax), f"{pct:+.0f} %"
        for ring in _rings(r.geometry):
            xs, ys = zip(*ring, strict=True)
            fig.add_trace(go.Scatter(x=xs, y=ys, fill="toself", fillcolor=color, mode="lines",
                                     line={"color": "#444", "width": 1.5}, hoverinfo="skip",
                                     showlegend=False))
        cx, cy = _centre(r.geometry)
        fig.add_annotation(x=cx, y=cy, text=f"<b>{html.escape(str(r.name))}</b><br>{text}",
                           showarrow=False, font={"size": 12}, bgcolor="rgba(255,255,255,.7)")
    dep_ids = set(b.deployments["area_id"]) if len(b.deployments) else set()
    beats = b.shapes[(b.shapes["level"] == "beat") & b.shapes["area_id"].isin(dep_ids)]
    first = True
    for r in beats.itertuples():
        for ring in _rings(r.geometry):
            xs, ys = zip(*ring, strict=True)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="CSO deployment area",
                                     line={"color": "#7b3294", "width": 3, "dash": "dot"},
                                     hoverinfo="skip", showlegend=first))
            first = False
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / max(math.cos(math.radians(
        _mean_lat(districts))), 0.2))
    fig.update_layout(title="Where CSOs were deployed, and the change in crime by district",
                      legend={"orientation": "h", "y": -0.05})
    return fig


def _diverging(x: float) -> str:
    """Blue (fewer) to red (more); x in −1..1."""
    x = max(-1.0, min(1.0, x))
    if x < 0:
        a = -x
        rgb = (255 - a * (255 - 33), 255 - a * (255 - 102), 255 - a * (255 - 172))
    else:
        rgb = (255 - x * (255 - 178), 255 - x * (255 - 24), 255 - x * (255 - 43))
    return "rgb({:.0f},{:.0f},{:.0f})".format(*rgb)


def _centre(geometry: Any) -> tuple[float, float]:
    pts = [p for ring in _rings(geometry) for p in ring]
    if not pts:
        return (0.0, 0.0)
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def _mean_lat(shapes: pd.DataFrame) -> float:
    lats = [p[1] for g in shapes["geometry"] for ring in _rings(g) for p in ring]
    return sum(lats) / len(lats) if lats else 0.0


# -- HTML and PDF -----------------------------------------------------------------------------
_CSS = """
@page { size: A4; margin: 12mm 14mm 14mm 14mm;
        @bottom-center { content: "CSO programme briefing · public · page " counter(page)
                         " of " counter(pages); font-size: 8pt; color: #666; } }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.2pt; color: #222;
       line-height: 1.3; max-width: 190mm; margin: auto; }
h1 { font-size: 18pt; margin: 0 0 2mm 0; color: #1f4e79; }
h2 { font-size: 12pt; margin: 3.5mm 0 1.5mm 0; color: #1f4e79; border-bottom: 1px solid #ccd;
     padding-bottom: 1mm; }
.meta { color: #555; font-size: 9pt; }
.notice { border: 2px solid #b35806; background: #fff4e6; padding: 2mm 3mm; margin: 3mm 0;
          font-weight: bold; }
.stamp { border: 1px solid #999; background: #f4f4f4; padding: 1.5mm 3mm; font-size: 8.5pt; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; font-size: 9pt; }
th, td { border-bottom: 1px solid #ddd; padding: 0.9mm 2mm; text-align: left; }
td.num, th.num { text-align: right; }
th { background: #eef2f7; }
.finding { margin: 1mm 0 2mm 0; }
.verdict { font-weight: bold; }
img { width: 100%; }
.page { page-break-before: always; }
.small { font-size: 8.5pt; color: #444; }
"""

def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _num(v: Any, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "suppressed" if v is pd.NA else "—"
    if unit == "%":
        return f"{v:.1f} %"
    if unit == "min":
        return f"{v:.1f} min"
    return f"{v:,.0f}"


def _img(png: bytes, alt: str) -> str:
    return (f'<img alt="{_e(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode("ascii")}">')


def _kpi_table(b: Briefing) -> str:
    if b.period is None:
        return "<p>No data in the chosen period.</p>"
    p = b.period
    head = (f"<tr><th>Measure</th><th class='num'>{p.start:%d %b %Y} – {p.end:%d %b %Y}</th>"
            f"<th class='num'>{p.prev_start:%d %b %Y} – {p.prev_end:%d %b %Y}</th>"
            "<th class='num'>Change</th></tr>")
    rows = []
    for k in b.kpis:
        unit = {"%": "%", "min": "min"}.get(k.unit, "")
        change = "—"
        if k.value is not None and k.previous is not None and p.comparable:
            d = k.value - k.previous
            change = (f"{d:+.1f} pts" if unit == "%" else f"{d:+.1f} min" if unit == "min"
                      else f"{d:+,.0f}")
            if k.delta is not None and k.delta_kind == "percent":
                change += f" ({k.delta:+.1f} %)"
        rows.append(f"<tr><td>{_e(k.label)}</td><td class='num'>{_num(k.value, unit)}</td>"
                    f"<td class='num'>{_num(k.previous, unit) if p.comparable else '—'}</td>"
                    f"<td class='num'>{_e(change)}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _frame_table(df: pd.DataFrame, columns: dict[str, str]) -> str:
    cols = [c for c in columns if c in df.columns]
    head = "".join(f"<th class='{'num' if pd.api.types.is_numeric_dtype(df[c]) else ''}'>"
                   f"{_e(columns[c])}</th>" for c in cols)
    body = []
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if pd.api.types.is_numeric_dtype(df[c]):
                txt = "suppressed" if pd.isna(v) else (f"{v:,.1f}" if isinstance(v, float)
                                                       and not float(v).is_integer()
                                                       else f"{v:,.0f}")
                cells.append(f"<td class='num'>{_e(txt)}</td>")
            else:
                cells.append(f"<td>{_e('' if pd.isna(v) else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def briefing_html(b: Briefing) -> str:
    """The briefing as one self-contained HTML document (no external URL)."""
    parts = [f"<h1>{_e(b.title)}</h1>"]
    period = (f"{b.period.start:%d %B %Y} – {b.period.end:%d %B %Y}, compared with "
              f"{b.period.prev_start:%d %B %Y} – {b.period.prev_end:%d %B %Y}"
              if b.period else "no data")
    parts.append(f"<p class='meta'>Reporting period: {_e(period)}. Programme evaluation: "
                 f"{_e(b.claims_range)}. Generated {b.generated_at:%d %B %Y, %H:%M %Z}.</p>")
    if b.synthetic:
        parts.append("<div class='notice'>Synthetic data: this briefing was made from the "
                     "demo city, a made-up city with a planted CSO effect. None of these "
                     "figures describe a real place.</div>")
    parts.append(f"<p class='stamp'>{_e(b.policy.stamp())}</p>")
    parts.append("<h2>Headline findings</h2>")
    for f in b.findings:
        # the sentence starts with the verdict ("Supported — …", "Not shown — …")
        parts.append(f"<div class='finding'><span class='verdict'>{_e(f.question)}</span>"
                     f"<br>{_e(f.sentence)}"
                     + (f"<br><span class='small'>{_e(f.note)}</span>" if f.note else "")
                     + "</div>")
    parts.append("<p class='small'>A 95 % confidence interval is the range of effects "
                 "consistent with the data; when it includes no change, the data cannot "
                 "tell the effect from chance, and the finding says “no clear change”.</p>")
    parts.append("<h2>Key figures</h2>" + _kpi_table(b))

    has_findings = any(f.estimate is not None for f in b.findings)
    figs = [(findings_chart(b.findings), 900, 340)] if has_findings else []
    figs += [(map_figure(b), 900, 520), (monthly_chart(b.monthly), 900, 270)]
    pngs = render_pngs(figs)
    findings_png = pngs.pop(0) if has_findings else None
    map_png, monthly_png = pngs

    parts.append("<div class='page'></div><h2>The claims at a glance</h2>")
    if findings_png is not None:
        parts.append(_img(findings_png, "Programme claims: effect and 95 % confidence interval"))
    parts.append("<h2>Where CSOs work, and the change in crime</h2>")
    parts.append(_img(map_png, "CSO deployment areas and change in crime by district"))
    if b.change_label:
        parts.append(f"<p class='small'>{_e(b.change_label)}. Blue: fewer incidents after; "
                     "red: more; grey: too few to show or suppressed. Dotted purple: beats "
                     "with CSOs. A change in one district is not by itself an effect of the "
                     "programme: the findings above compare with areas without CSOs.</p>")

    parts.append("<div class='page'></div><h2>Calls and crime over time</h2>")
    parts.append(_img(monthly_png, "Calls for service and crime incidents per month"))
    parts.append("<h2>By district</h2>")
    if len(b.districts):
        parts.append(_frame_table(b.districts, {
            "district": "District", "calls": "Calls", "cso_share_pct": "CSO-handled share (%)",
            "p1_median_min": "P1 median response (min)", "crimes": "Crime incidents",
            "crimes_last_year": "Crimes, year before"}))
    parts.append("<h2>How these numbers were made</h2><ul>" + "".join(
        f"<li>{_e(t)}</li>" for t in _methods(b)) + "</ul>")
    if b.caveats:
        parts.append("<h2>Caveats</h2><ul>" + "".join(f"<li>{_e(c)}</li>" for c in b.caveats)
                     + "</ul>")
    parts.append("<h2>Data sources</h2>" + _frame_table(
        b.sources, {"source": "Source", "rows": "Records", "from": "From", "to": "To"}))
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{_e(b.title)}</title><style>{_CSS}</style></head><body>"
            + "".join(parts) + "</body></html>")


def _methods(b: Briefing) -> list[str]:
    k = b.policy.k
    return [
        "Each claim compares areas with CSOs before and after they started against areas "
        "without CSOs yet over the same months (a staggered difference-in-differences, "
        "Callaway & Sant'Anna 2021), so city-wide trends and seasons cancel out.",
        "Counts are compared as rates (a percent change); response times in minutes "
        "(medians of received to first arrival, urgent calls only).",
        "Uncertainty is shown as a 95 % confidence interval; with few areas the interval is "
        "wide, and a result that could be chance is reported as “no clear change”.",
        "Calls for service, crime reports and arrests are different things and are never "
        "added together.",
        f"Privacy: this briefing is public. Counts from 1 to {k - 1} are suppressed, and "
        "further cells are hidden where a total would reveal them; sensitive call types "
        "(domestic violence, sexual assault, juvenile, mental-health crisis …) are left out "
        "of every figure; no individual locations or free text are shown.",
    ]


def briefing_pdf(b_or_html: Briefing | str) -> bytes:
    """The briefing as PDF bytes (WeasyPrint, from :func:`briefing_html`; no network)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    text = b_or_html if isinstance(b_or_html, str) else briefing_html(b_or_html)
    # Only inline data: URIs may be read; anything else is refused (offline, no leaks).
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return HTML(string=text, url_fetcher=fetcher).write_pdf()


def replace_generated_at(b: Briefing, when: dt.datetime) -> Briefing:
    """A copy with another generation time (for reproducible files in tests)."""
    return dataclasses.replace(b, generated_at=when)


def briefing_files(con: Any, *, start: dt.date | None = None, end: dt.date | None = None
                   ) -> tuple[str, bytes, str]:
    """(HTML text, PDF bytes, file stem) of the briefing for ``start``–``end``."""
    b = build_briefing(con, start=start, end=end)
    text = briefing_html(b)
    stem = "council_briefing"
    if b.period is not None:
        stem += f"_{b.period.start:%Y-%m}_to_{b.period.end:%Y-%m}"
    return text, briefing_pdf(text), stem
