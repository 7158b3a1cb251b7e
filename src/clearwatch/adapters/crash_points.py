"""Crash points for tests: `CLEARWATCH_CRASH_AT=<point>` kills the process there, as a power cut."""

from __future__ import annotations

import os
import signal

# The point armed by bootstrap from `Settings.crash_at`; module state because the points sit
# deep inside adapters that no setting reaches otherwise, and one process has one setting.
_armed: str | None = None


def arm(name: str | None) -> None:
    """Kill the process when `crash_point(name)` is reached; None disarms."""
    global _armed
    _armed = name


def crash_point(name: str) -> None:
    """Die at once (SIGKILL: no cleanup, no rollback) when this point is the armed one."""
    if _armed == name:
        os.kill(os.getpid(), signal.SIGKILL)
