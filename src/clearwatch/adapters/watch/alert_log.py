"""The durable alert log: a JSON-lines file, fsynced per alert (in memory: services/watch)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from clearwatch.domain.watch.alerts import (
    Alert,
    alert_from_dict,
    alert_to_dict,
    numbered_by_broker,
)


class JsonlAlertLog:
    """One alert per line. A process killed mid-write leaves a torn last line: it is cut on
    open, so that alert counts as not raised and its replay writes it whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._keys = self._load()

    def _load(self) -> set[str]:
        if not self.path.exists():
            return set()
        data = self.path.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(len(whole))
        return {json.loads(line)["key"] for line in whole.splitlines() if line.strip()}

    def add(self, alert: Alert) -> bool:
        if alert.key in self._keys:
            return False
        line = json.dumps(alert_to_dict(alert), ensure_ascii=False, separators=(",", ":"))
        with self.path.open("ab") as handle:
            handle.write(line.encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._keys.add(alert.key)
        return True

    def keys(self) -> set[str]:
        return set(self._keys)

    def recorded(self) -> list[Alert]:
        """Every alert recorded, in the order raised (the risk desk's list), each numbered
        among its broker's: the log is only appended to and a torn last line is no alert, so
        an alert's number never changes and names no client (its key does)."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        whole = data[: data.rfind(b"\n") + 1]  # a line being written is not an alert yet
        lines = [line for line in whole.splitlines() if line.strip()]
        return numbered_by_broker(alert_from_dict(json.loads(line)) for line in lines)
