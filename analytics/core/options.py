"""Option literals, checked in one place.

Every option of an analytics function is a ``Literal`` alias (``Segment``, ``Level``, …);
its allowed values are read from the alias with :func:`typing.get_args`, never typed a
second time. ``choices(Alias)`` gives the tuple for widgets; ``check(name, value, Alias)``
raises :class:`~analytics.errors.OptionError` naming the option and its choices.
"""

from __future__ import annotations

from typing import Any, get_args

from analytics.errors import OptionError


def choices(alias: Any) -> tuple:
    """The allowed values of a ``Literal`` alias, in declaration order."""
    values = get_args(alias)
    if not values:
        raise TypeError(f"{alias!r} is not a Literal alias")
    return values


def check(name: str, value: object, alias: Any) -> None:
    """Raise ``OptionError`` unless ``value`` is one of the alias's values.

    Examples
    --------
    >>> from typing import Literal
    >>> check("grain", "week", Literal["week", "month"])
    >>> check("grain", "day", Literal["week", "month"])
    Traceback (most recent call last):
    ...
    analytics.errors.OptionError: grain must be one of 'week', 'month'; got 'day'
    """
    allowed = choices(alias)
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise OptionError(f"{name} must be one of {listed}; got {value!r}")
