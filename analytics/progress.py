"""A text progress bar for the command line (the demo build and the importer use it)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def text_progress_bar(stream: TextIO = sys.stderr) -> Callable[[float, str], None]:
    """A text progress bar on ``stream`` (stderr): ``callback(fraction 0..1, message)``."""
    width = 30
    start = time.perf_counter()

    def update(frac: float, msg: str) -> None:
        frac = min(max(frac, 0.0), 1.0)
        filled = int(round(frac * width))
        bar = "#" * filled + "-" * (width - filled)
        el = time.perf_counter() - start
        stream.write(f"\r[{bar}] {frac * 100:5.1f}%  {el:6.1f}s  {msg[:50]:<50}")
        if frac >= 1.0:
            stream.write("\n")
        stream.flush()

    return update
