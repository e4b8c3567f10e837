"""Compile each expression *shape* once: the values compared in an expression are slots.

A filter change builds the same queries with other values (another district, other
dates), and Ibis compiled each new expression from scratch: about 0.1–0.2 CPU-s per
Overview filter change at 10 M calls (issue 16). This module lets
:func:`analytics.engines.compile_sql` compile once per shape:

1. :func:`shape_of` finds the **slot values** of an expression: the literals that are an
   operand of a comparison (``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``) or an option of an
   ``IN`` list, of type string, integer, date or timestamp — every filter value
   (:meth:`analytics.filters.Filters.apply`) and the constants metric rules compare with.
   It returns the expression with each distinct such value replaced by a numbered
   :class:`Slot` (the *shape*: equal for two expressions that differ only in those
   values) and the values in slot order.
2. :func:`compile_template` compiles a shape once with the backend's own compiler, each
   slot written as a token; :func:`fill` writes each value in the token's place as the
   compiler writes that literal (its own ``visit_Literal``, e.g.
   ``MAKE_TIMESTAMP(2025, 1, 1, 0, 0, 0.0)``, ``'D1'``), in one pass.

The SQL that runs is therefore the SQL the plain compilation writes, values as literals
(DuckDB plans with the constants: zone maps and filter pushdown as before), and the SQL
shown is the SQL that ran. Why values are written back rather than bound as DuckDB
prepared parameters: the results kept per SQL text (:mod:`analytics.engines`) stay keyed
by one string, the SQL shown needs no separate bindings, and DuckDB sees constants; the
compilation is the cost removed either way (docs/performance.md).

Why the slot positions are safe: a comparison or ``IN`` compiles its operands as they
are (``left OP right``, ``x IN (a, b)``; a literal there is never parenthesised or
inspected), so a token in an operand's place compiles to the same text around it. Where
the compiler's output does not show each token exactly as often as it wrote one,
:func:`compile_template` returns None and the caller compiles the expression itself.
"""

from __future__ import annotations

import re
from typing import Any

import ibis.expr.datashape as ds
import ibis.expr.datatypes as idt
import ibis.expr.operations as ops
import sqlglot.expressions as sge

#: Comparisons whose literal operands are slots.
COMPARISONS = (ops.Equals, ops.NotEquals, ops.Greater, ops.GreaterEqual, ops.Less,
               ops.LessEqual)
_TOKEN = "__cso_slot_{}__"
_TOKEN_RE = re.compile(r"__cso_slot_(\d+)__")


class Slot(ops.Value):
    """The ``k``-th slot value of an expression shape (never executed: only compiled by
    :func:`compile_template`)."""

    k: int
    dtype: idt.DataType
    shape = ds.scalar


def is_slot_value(node: Any) -> bool:
    """True for a literal that becomes a slot: a string, integer (not boolean), date or
    timestamp that is not NULL."""
    if not isinstance(node, ops.Literal) or node.value is None:
        return False
    t = node.dtype
    return (t.is_string() or t.is_date() or t.is_timestamp()
            or (t.is_integer() and not isinstance(node.value, bool)))


def shape_of(op: ops.Node) -> tuple[ops.Node, tuple[ops.Literal, ...]] | None:
    """The shape of the operation tree ``op`` and its slot values (literals, in slot
    order), or None when it has none.

    Equal values share one slot, so two expressions have one shape when they differ only
    in the values of their slots (and in which of them are equal)."""
    slots: dict[ops.Literal, Slot] = {}

    def slot(node: Any) -> Any:
        if not is_slot_value(node):
            return node
        got = slots.get(node)
        if got is None:
            got = slots[node] = Slot(len(slots), node.dtype)
        return got

    def rewrite(node: ops.Node, kwargs: dict | None) -> ops.Node:
        # the node rebuilt from its rewritten children (a predicate must name the
        # rewritten relation), then its literal operands slotted
        new = node.__recreate__(kwargs) if kwargs else node
        if isinstance(new, ops.InValues):
            options = tuple(slot(o) for o in new.options)
            if options != new.options:
                return new.copy(options=options)
        elif isinstance(new, COMPARISONS):
            left, right = slot(new.left), slot(new.right)
            if left is not new.left or right is not new.right:
                return new.copy(left=left, right=right)
        return new

    shape = op.replace(rewrite)
    if not slots:
        return None
    return shape, tuple(slots)


def _slot_compiler(compiler: Any) -> Any:
    """An instance of ``compiler``'s class that writes a :class:`Slot` as its token."""
    cls = type(compiler)
    sub = _SUBCLASSES.get(cls)
    if sub is None:
        def visit_Slot(self: Any, op: Slot, *, k: int, dtype: idt.DataType) -> sge.Expression:  # noqa: N802 - Ibis's visitor naming
            return sge.Var(this=_TOKEN.format(k))

        sub = _SUBCLASSES[cls] = type(f"Slot{cls.__name__}", (cls,), {"visit_Slot": visit_Slot})
    return sub()


_SUBCLASSES: dict[type, type] = {}


def compile_template(compiler: Any, shape: ops.Node, n_slots: int,
                     pretty: bool = True) -> str | None:
    """The SQL of ``shape`` with a token per slot, or None when the compiled text does not
    show every token (``n_slots`` of them) — then the caller compiles the expression."""
    c = _slot_compiler(compiler)
    out = c.to_sqlglot(shape.to_expr().unbind())
    if isinstance(out, list):
        return None
    sql = out.sql(dialect=c.dialect, pretty=pretty)
    if {int(m) for m in _TOKEN_RE.findall(sql)} != set(range(n_slots)):
        return None
    return sql


def literal_sql(compiler: Any, lit: ops.Literal) -> str:
    """``lit`` as ``compiler`` writes it in SQL (its ``visit_Literal``)."""
    return compiler.visit_Literal(lit, value=lit.value, dtype=lit.dtype).sql(
        dialect=compiler.dialect)


def fill(template: str, texts: tuple[str, ...]) -> str:
    """``template`` with each slot's token replaced by ``texts[k]`` (one pass: a value's
    text is never read for tokens)."""
    return _TOKEN_RE.sub(lambda m: texts[int(m.group(1))], template)


def without(t: Any, *names: str) -> Any:
    """Ibis table ``t`` without the columns ``names``: an explicit column list in ``t``'s
    order. Use it instead of ``t.drop(...)`` in metric expressions: Ibis keeps the
    dropped names in a ``frozenset`` and DuckDB's compiler writes them as
    ``EXCLUDE (...)`` in that set's iteration order, which can differ between two builds
    of one expression (equal sets, other insertion histories), and so between a shape's
    SQL and the expression's own (seen as ``EXCLUDE ("_k_priority", "_k_district")``
    against ``("_k_district", "_k_priority")``)."""
    drop = set(names)
    missing = drop - set(t.columns)
    if missing:
        raise KeyError(f"no columns {sorted(missing)} to drop")
    return t.select(*[c for c in t.columns if c not in drop])


def normal_sql(sql: str) -> str:
    """``sql`` with its layout removed (runs of white space as one space, none inside
    brackets), for comparing two compilations whose line breaks may differ."""
    out = re.sub(r"\s+", " ", sql)
    return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", out)).strip()


__all__ = ["COMPARISONS", "Slot", "compile_template", "fill", "is_slot_value",
           "literal_sql", "normal_sql", "shape_of", "without"]
