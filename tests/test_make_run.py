"""`make run` listens on this machine only unless told otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _recipe(host: str | None) -> str:
    if not shutil.which("make"):
        pytest.skip("make not installed")
    env = {k: v for k, v in os.environ.items() if k != "HOST"}
    if host is not None:
        env["HOST"] = host
    out = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True,
                         env=env, check=True).stdout
    return " ".join(line for line in out.splitlines() if "streamlit run" in line or
                    "ui.serve" in line or "server.port" in line)


def test_make_run_binds_localhost_by_default() -> None:
    assert "--server.address 127.0.0.1" in _recipe(None)


def test_host_variable_opens_the_network() -> None:
    assert "--server.address 0.0.0.0" in _recipe("0.0.0.0")
