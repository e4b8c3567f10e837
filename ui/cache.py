"""The one way pages call analytics: ``cached(fn, *args, **kwargs)``.

Pages never write their own ``st.cache_data`` wrapper. They call::

    summary = cached(rt.response_summary, backend, filters, cap_min=cap_min,
                     spinner="Computing response times…")

and get ``fn(*args, **kwargs)``, cached per server process under a key made of

- the function's module and qualified name (two functions never share entries);
- the database being served (``state.db_path()``), instead of the connection or Ibis
  backend passed in: a database handle is never hashed, and the same query on another
  database file is another entry;
- every other argument, hashed by Streamlit (``Filters``, dates, tuples, dicts, frozen
  dataclasses, frames). A keyword argument whose name starts with ``_`` is passed
  through without being hashed (as ``st.cache_data`` does with ``_``-prefixed
  parameters): use it only for values that cannot change the result.

An argument Streamlit cannot hash raises ``UnhashableArgumentError`` naming the function
and the argument, instead of silently sharing one entry between different values.

``state.data_changed()`` (after an import or a settings change) clears every entry.

The server's privacy tier (:mod:`analytics.privacy`) is applied here, the one place
every result passes on its way to a page: ``Filters`` arguments are scoped to what the
tier may ask for (``privacy.scope_call``) before the key is made, and the result is
released for the tier (``privacy.release``: points, free text and sensitive call types
removed, small cells suppressed) before it is cached, so no page ever holds more.
The optional ``spinner`` text is shown while a result is computed (never on a hit).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.caching.cache_errors import UnhashableParamError

from analytics import privacy
from ui import state

T = TypeVar("T")


class UnhashableArgumentError(TypeError):
    """A page passed ``cached`` an argument that cannot be part of a cache key."""


def _is_database_handle(value: Any) -> bool:
    """An Ibis backend or a DuckDB connection/cursor: identified by the database path."""
    if isinstance(value, state.LiveCursor):  # the analyst server's cursor (ui.state)
        return True
    module = type(value).__module__ or ""
    return module.startswith(("ibis.", "duckdb", "_duckdb"))


def function_key(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of ``fn`` (a page's own helper also carries its file name)."""
    code = getattr(fn, "__code__", None)
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", None) or repr(fn)
    if module in ("", "__main__") and code is not None:
        module = code.co_filename
    return f"{module}.{name}"


_COMPUTED = 0
_COMPUTED_LOCK = threading.Lock()


def computed() -> int:
    """How many results this process has computed (cache misses) since it started."""
    return _COMPUTED


def _compute(key: tuple, _fn: Callable[..., Any], _args: tuple, _kwargs: dict,
             _policy: privacy.Policy) -> Any:
    global _COMPUTED
    out = privacy.release(_fn(*_args, **_kwargs), _policy)
    with _COMPUTED_LOCK:
        _COMPUTED += 1
    return out


@functools.cache
def _cached_compute(spinner: str | bool) -> Callable[..., Any]:
    # Every spinner text decorates the same function, so all share one cache storage
    # (Streamlit keys a cache by module, qualified name and source of the function).
    return st.cache_data(show_spinner=spinner)(_compute)


def cache_key(fn: Callable[..., Any], args: tuple, kwargs: dict) -> tuple:
    """The hashed part of a call: function, database, and the non-handle arguments."""
    db_file = None
    key_args: list[Any] = []
    for a in args:
        if _is_database_handle(a):
            db_file = str(state.db_path())
            key_args.append("<database>")
        else:
            key_args.append(a)
    key_kwargs = {}
    for k, v in sorted(kwargs.items()):
        if k.startswith("_"):
            continue
        if _is_database_handle(v):
            db_file = str(state.db_path())
            v = "<database>"
        key_kwargs[k] = v
    return (function_key(fn), db_file, tuple(key_args), tuple(key_kwargs.items()))


def cached(fn: Callable[..., T], *args: Any, spinner: str | bool = False, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, computed once per distinct key (see the module docstring)."""
    policy = state.policy()
    args, kwargs = privacy.scope_call(args, kwargs, policy)
    call_kwargs = {k.removeprefix("_") if k.startswith("_") else k: v
                   for k, v in kwargs.items()}
    key = (*cache_key(fn, args, kwargs), policy.tier, policy.k, policy.period_unit)
    try:
        return _cached_compute(spinner)(key, fn, args, call_kwargs, policy)
    except UnhashableParamError as exc:
        raise UnhashableArgumentError(
            f"cached({function_key(fn)}): an argument cannot be hashed for the cache key; "
            "pass it with a leading underscore if it cannot change the result, or pass a "
            "hashable value (tuple, frozen dataclass)") from exc


def clear() -> None:
    """Drop every cached result (after an import or a settings change)."""
    st.cache_data.clear()
