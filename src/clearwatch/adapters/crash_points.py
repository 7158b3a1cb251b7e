"""Crash points for tests: `CLEARWATCH_CRASH_AT=<point>` kills the process there, as a power cut."""

from __future__ import annotations

import os
import signal

CRASH_VARIABLE = "CLEARWATCH_CRASH_AT"


def crash_point(name: str) -> None:
    """Die at once (SIGKILL: no cleanup, no rollback) when the environment names this point."""
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
