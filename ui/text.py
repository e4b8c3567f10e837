"""Data values inside Markdown: shown literally, never rendered.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, ``st.write``, alerts,
toasts, headings, metric labels, widget labels and ``help`` tooltips, expander and tab
labels. A data value (a call type, category, offense, area name, deployment note, file
name, preset name, setting, an error quoting any of these) must never be read as
Markdown there: a category named ``![x](http://…)`` would make every visitor's browser
fetch that address. Pages therefore pass such text only as

- a literal (or an UPPER_CASE module constant, or a docstring): code-authored Markdown;
- :func:`plain` of the value: the value, escaped;
- :func:`md` of a literal template: the template's Markdown, every field escaped;
- an f-string whose every field is :func:`plain` or a number format (``{n:,}``).

``tests/test_layout.py`` checks every such call in ``app_pages/`` and ``ui/`` for this.
"""

from __future__ import annotations

import re
import string

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    r"""Text for st.markdown/caption/info that shows data values literally: Markdown and
    LaTeX punctuation escaped, so a value like ``![x](http://…)`` is never rendered (and
    never makes the browser fetch anything).

    >>> print(plain("![x](u) 5*3"))
    \!\[x\]\(u\) 5\*3
    """
    return _MARKDOWN.sub(r"\\\1", str(text))


class _Escaping(string.Formatter):
    def format_field(self, value: object, format_spec: str) -> str:
        return plain(super().format_field(value, format_spec))


_ESCAPING = _Escaping()


def md(template: str, /, *args: object, **kwargs: object) -> str:
    r"""``template.format(*args, **kwargs)`` with every field escaped by :func:`plain`:
    the template's own Markdown renders, the values read literally. Never put a field
    inside a code span (backticks show the escapes).

    >>> print(md("Imported **{}**: {:,} rows", "a*b.csv", 1200))
    Imported **a\*b\.csv**: 1,200 rows
    """
    return _ESCAPING.format(template, *args, **kwargs)
