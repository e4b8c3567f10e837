"""Option literals, checked in one place.

Every option of an analytics function is a ``Literal`` alias (``Segment``, ``Level``, …);
its allowed values are read from the alias with :func:`typing.get_args`, never typed a
second time. ``choices(Alias)`` gives the tuple for widgets; ``check(name, value, Alias)``
raises :class:`~analytics.errors.OptionError` naming the option and its choices.
"""

from __future__ import annotations

from typing import Any, get_args

from analytics.errors import check_option


def choices(alias: Any) -> tuple:
    """The allowed values of a ``Literal`` alias, in declaration order."""
    values = get_args(alias)
    if not values:
        raise TypeError(f"{alias!r} is not a Literal alias")
    return values


def check(name: str, value: object, alias: Any) -> None:
    """Raise ``OptionError`` unless ``value`` is one of the alias's values."""
    check_option(name, value, choices(alias))
