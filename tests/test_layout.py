"""House rules that keep the layout obvious (STYLE.md): checked on the source tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "app_pages").glob("*.py"))
# Every page file and the modules a page is split into (e.g. app_pages/workload_tabs/).
PAGE_CODE = sorted((ROOT / "app_pages").rglob("*.py"))
ANALYTICS = sorted((ROOT / "analytics").rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module.split(".")[0])
    return mods


@pytest.mark.parametrize("page", PAGE_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_do_not_query_or_model(page: Path) -> None:
    bad = imported_modules(page) & {"duckdb", "ibis", "statsmodels"}
    assert not bad, f"{page.name} imports {bad}: move that work into analytics/"


@pytest.mark.parametrize("page", PAGE_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_call_analytics_through_the_cache_helper(page: Path) -> None:
    # One cached-call helper (ui/cache.py), not a hand-written st.cache_data per function.
    text = page.read_text(encoding="utf-8")
    assert "cache_data" not in text and "cache_resource" not in text, (
        f"{page.name}: call analytics through ui.cache.cached instead")


@pytest.mark.parametrize("module", ANALYTICS, ids=lambda p: str(p.relative_to(ROOT)))
def test_analytics_has_no_streamlit(module: Path) -> None:
    assert "streamlit" not in imported_modules(module)


def test_no_print_in_analytics_outside_cli() -> None:
    offenders = []
    for path in ANALYTICS:
        if path.name in {"cli.py", "__main__.py", "bench.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def test_every_registered_page_exists() -> None:
    import re

    text = (ROOT / "dashboard.py").read_text(encoding="utf-8")
    registered = re.findall(r'"(app_pages/[a-z_]+\.py)"', text)
    assert registered, "dashboard.py registers no pages"
    missing = [p for p in registered if not (ROOT / p).exists()]
    assert not missing, f"registered but missing: {missing}"
    unregistered = [p.name for p in PAGES if f"app_pages/{p.name}" not in registered]
    assert not unregistered, f"pages not in navigation: {unregistered}"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _analytics_import_graph() -> dict[str, set[str]]:
    """Module → analytics modules it imports (anywhere in the file, lazy imports too)."""
    names = {_module_name(p) for p in ANALYTICS}
    graph: dict[str, set[str]] = {}
    for path in ANALYTICS:
        me = _module_name(path)
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                     and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in type_only:  # never executed: not an import at run time
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from analytics import maps" imports the module analytics.maps
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            else:
                continue
            for t in targets:
                if t in names and t != me and not me.startswith(t + "."):
                    edges.add(t)
        graph[me] = edges
    return graph


def test_no_import_cycles_in_analytics() -> None:
    graph = _analytics_import_graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    # No allow-list: every cycle fails (lazy imports count, TYPE_CHECKING ones do not).
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


# Modules where SQL text is the point: the importer's staging, the schema and derived-table
# DDL (with the local-time SQL it is built from, core/clock.py), the executor, the Parquet
# export, the CLI's table summary and the benchmarks.
SQL_MODULES = {"analytics/db.py", "analytics/facts.py", "analytics/core/clock.py",
               "analytics/engines.py", "analytics/parquet.py", "analytics/cli.py",
               "analytics/bench.py"}
SQL_PACKAGES = ("analytics/ingest/", "analytics/synthetic/")
METRIC_MODULES = [p for p in ANALYTICS if str(p.relative_to(ROOT)) not in SQL_MODULES
                  and not str(p.relative_to(ROOT)).startswith(SQL_PACKAGES)]
_READ = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bDESCRIBE\b|\bPRAGMA\b")
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|COPY|BEGIN|COMMIT)\b")


def _sql_strings(path: Path) -> tuple[list[str], list[str]]:
    """(read queries, writes with interpolated values) written as strings in ``path``.

    Docstrings are prose and skipped. A write may interpolate only a module constant
    (an upper-case name such as ``TABLE`` or ``_Q``): values must be bound parameters.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)}
    inside_fstring = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)
                      for v in n.values}
    reads, writes = [], []
    for node in ast.walk(tree):
        if id(node) in docs or id(node) in inside_fstring:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text, holes = node.value, []
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            holes = [ast.unparse(v.value) for v in node.values if isinstance(v, ast.FormattedValue)]
        else:
            continue
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        if _READ.search(text):
            reads.append(f"{where}: {text[:60]!r}")
        elif _WRITE.search(text) and any(not h.lstrip("_").isupper() for h in holes):
            writes.append(f"{where}: interpolates {holes}")
    return reads, writes


@pytest.mark.parametrize("module", METRIC_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_metric_modules_have_no_sql_text(module: Path) -> None:
    # Metric code is Ibis (one executor compiles it); a store's writes may stay SQL with
    # bound values. Reads written as SQL text fail here.
    reads, writes = _sql_strings(module)
    assert not reads, "SQL query text in a metric module (write it in Ibis): " + "; ".join(reads)
    assert not writes, "bind values as parameters: " + "; ".join(writes)


def test_the_sql_scan_finds_sql(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text('"""SELECT x FROM doc is prose."""\n'
                 'q = "SELECT count(*) FROM calls"\n'
                 'k = "Select the areas from the list"\n'
                 'w = f"DELETE FROM t WHERE id = {value}"\n'
                 'ok = f"DELETE FROM {TABLE} WHERE id = ?"\n', encoding="utf-8")
    original = globals()["ROOT"]
    globals()["ROOT"] = tmp_path
    try:
        reads, writes = _sql_strings(f)
    finally:
        globals()["ROOT"] = original
    assert [r.split(":")[1] for r in reads] == ["2"]
    assert [w.split(":")[1] for w in writes] == ["4"]


# -- data values never reach a Markdown renderer unescaped (ui/text.py) -------------------
# Streamlit calls that render their text as Markdown: the first positional argument ...
MD_FIRST_ARG = {
    "markdown", "caption", "write", "info", "warning", "error", "success", "toast",
    "title", "header", "subheader", "expander", "popover", "spinner", "status", "metric",
    "button", "download_button", "link_button", "checkbox", "toggle", "radio", "selectbox",
    "multiselect", "slider", "select_slider", "number_input", "text_input", "text_area",
    "date_input", "time_input", "file_uploader", "color_picker", "segmented_control",
    "pills", "data_editor_label", "tabs",
}
# ... and these keywords of any Streamlit call.
MD_KEYWORDS = {"label", "help", "body"}
# Page helpers that hand a Markdown argument on to st.markdown/caption: (function, position,
# keyword). (Helpers taking plain text — chart_with_table's takeaway, missing_data,
# no_data — escape it themselves.)
MD_HELPERS = {("how_computed", 0, "definition"), ("period_caption", 1, "note"),
              ("_edit_reference", 2, "help_text"),
              ("_value_picker", 0, "label"), ("_value_picker", 6, "help_text")}
# Functions whose result is escaped, or a number as text (no Markdown can come out).
ESCAPERS = {"plain", "md"}
NUMBER_TEXT = {"len", "int", "round", "fmt_pvalue", "_fmt", "fmt_date", "fmt_pct", "fmt_hours"}
# Receivers that are not Streamlit (logging has .info/.warning/.error too).
NOT_STREAMLIT = {"log", "logger", "logging", "warnings"}
# A format spec makes a field a number or a date: formatting a string with it raises.
NUMBER_SPEC = re.compile(r"^[+\- ]?0?\d*[,_]?(\.\d+)?[dfeg%]$|^[+\- ]?0?\d*[,_](\.\d+)?$|^%")
MD_SAFE_NOTE = re.compile(r"# md-safe: \S")
MD_CODE = [*PAGE_CODE, ROOT / "ui" / "components.py", ROOT / "ui" / "state.py",
           ROOT / "dashboard.py"]


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _spec_text(spec: ast.expr | None) -> str | None:
    if spec is None:
        return None
    if isinstance(spec, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in spec.values):
        return "".join(str(v.value) for v in spec.values)
    return None


def md_safe(node: ast.expr) -> bool:
    """True when ``node`` can only produce code-authored Markdown and escaped values."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id.isupper() or node.id in {"None", "True", "False"}
    if isinstance(node, ast.Attribute):
        return node.attr.isupper() or node.attr == "__doc__"
    if isinstance(node, ast.JoinedStr):
        return all(md_safe(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        spec = _spec_text(node.format_spec)
        return md_safe(node.value) or (spec is not None and bool(NUMBER_SPEC.match(spec)))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return md_safe(node.left) and md_safe(node.right)
    if isinstance(node, ast.BoolOp):
        return all(md_safe(v) for v in node.values)
    if isinstance(node, ast.IfExp):
        return md_safe(node.body) and md_safe(node.orelse)
    if isinstance(node, ast.List | ast.Tuple):
        return all(md_safe(e) for e in node.elts)
    if isinstance(node, ast.GeneratorExp | ast.ListComp):
        return md_safe(node.elt)
    if isinstance(node, ast.Call):
        name = _call_name(node.func)
        if name in NUMBER_TEXT:
            return True
        if name in ESCAPERS:  # md's template must itself be safe (a literal)
            return name == "plain" or (bool(node.args) and md_safe(node.args[0]))
        if name in {"list", "tuple"} and len(node.args) == 1:
            return md_safe(node.args[0])
        if name == "join" and isinstance(node.func, ast.Attribute):
            return md_safe(node.func.value) and all(md_safe(a) for a in node.args)
        if name == "strftime":
            return True
    return False


def _streamlit_sink(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.IfExp):  # (st.warning if x else st.write)(text)
        return any(isinstance(f, ast.Attribute) and f.attr in MD_FIRST_ARG
                   for f in (func.body, func.orelse))
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    while isinstance(receiver, ast.Attribute):
        receiver = receiver.value
    return not (isinstance(receiver, ast.Name) and receiver.id in NOT_STREAMLIT)


def unescaped_markdown(path: Path) -> list[str]:
    """``file:line`` of every Markdown-rendering argument that is not provably safe."""
    bad = []
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Call):
            continue
        # A call may say why its non-literal text is code-authored Markdown (rarely needed).
        if MD_SAFE_NOTE.search(lines[node.lineno - 1]):
            continue
        name = _call_name(node.func) if not isinstance(node.func, ast.IfExp) else "write"
        checked: list[ast.expr] = []
        if _streamlit_sink(node):
            if name in MD_FIRST_ARG and node.args:
                checked.append(node.args[0])
            checked += [k.value for k in node.keywords if k.arg in MD_KEYWORDS]
        for helper, pos, kw in MD_HELPERS:
            if name == helper:
                checked += node.args[pos:pos + 1] + [k.value for k in node.keywords if k.arg == kw]
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        bad += [f"{where}:{a.lineno}: {ast.unparse(a)[:90]}"
                for a in checked if not md_safe(a)]
    return bad


@pytest.mark.parametrize("path", MD_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_data_values_reach_markdown_only_escaped(path: Path) -> None:
    # Data values are shown as text (issue 13): see ui/text.py for the allowed forms.
    bad = unescaped_markdown(path)
    assert not bad, "pass data values through ui.text.plain()/md():\n" + "\n".join(bad)


def test_markdown_check_catches_an_unescaped_value(tmp_path: Path) -> None:
    src = tmp_path / "probe.py"
    cases = {
        'st.caption(f"category {cat}")': False, 'st.caption(f"category {plain(cat)}")': True,
        'st.caption(f"{n:,} calls")': True, 'st.caption(f"{name:>10}")': False,
        'st.caption(f"{h:02d}:00 {x:.1f} {d:%d %b}")': True, 'st.caption(f"{name:10}")': False,
        'st.info(note)': False, 'st.info(NOTE)': True, 'col.metric(label, "3")': False,
        'st.metric("P1", "3", help=f"from {src}")': False,
        'st.markdown(md("**{}**", name))': True, 'st.markdown(md(template, name))': False,
        'st.tabs([f"{x}" for x in xs])': False, 'log.warning("%s", value)': True,
        '(st.warning if a else st.write)(text)': False,
        'components.how_computed(f"{spec.definition}")': False,
        'st.caption("; ".join(f"{n:,} rows {plain(r)}" for r, n in w))': True,
        'st.markdown(text)  # md-safe: built from the constants above': True,
        'st.markdown(text)  # md-safe:': False,
    }
    for code, safe in cases.items():
        src.write_text(code + "\n", encoding="utf-8")
        assert (unescaped_markdown(src) == []) is safe, code
