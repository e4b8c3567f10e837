"""Data values inside Markdown: shown literally, never rendered."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    r"""Text for st.markdown/caption/info that shows data values literally: Markdown and
    LaTeX punctuation escaped, so a value like ``![x](http://…)`` is never rendered (and
    never makes the browser fetch anything).

    >>> print(plain("![x](u) 5*3"))
    \!\[x\]\(u\) 5\*3
    """
    return _MARKDOWN.sub(r"\\\1", str(text))
