"""Reads kept between requests while the store says nothing they came from has changed.

A bureau's screen asks for its warnings every few seconds, and every API request reads its
caller (user, roles, grants, credential epoch): the same rows, read again and again, while
they change a few times a day. The store counts the changes itself: a trigger adds one to an
area's *generation* in every transaction that writes a table of that area, whoever writes
(a command, a request, another server process, a console). A request reads the generations
first — one row each, no transaction — and takes what it read earlier under the same
generation; anything else it reads afresh. So a revoked role, a changed password or a newly
approved warning holds from the next request on every server, as if nothing were kept.

What is kept are rows, never decisions: the policy still decides every request on the real
clock (a grant that expired a second ago no longer counts), and a token is still checked.

Order matters: the generation is read *before* the rows. Rows read after a change but filed
under the older generation are only ever asked for under that older generation, which no
later request presents; rows filed under a newer generation than they reflect could be, so
that never happens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Generations:
    """How often each area of the store has changed, as the store counted it."""

    access: int  # users, their roles, credential epochs and emergency grants
    warnings: int  # the daily results, their warnings and the reviewers' decisions


class StoreGenerations(Protocol):
    """Reads the store's generations; None where this store does not keep them (then
    nothing is kept and every request reads afresh)."""

    def read(self) -> Generations | None: ...


class Remembered(Generic[K, V]):
    """Values of one area, kept while its generation stands: a newer one drops them all.

    Shared by the server's store threads; bounded, since a key may come from a request
    (a query's filters): past `capacity` values, everything is dropped and read again."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._generation = -1
        self._values: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, generation: int | None, key: K, read: Callable[[], V]) -> V:
        """The value kept for `key` under `generation`, else `read()` (kept for the next
        request). `generation` None: the store keeps none, so always `read()`."""
        if generation is None:
            return read()
        with self._lock:
            if generation == self._generation and key in self._values:
                return self._values[key]
        value = read()
        with self._lock:
            if generation > self._generation:
                self._generation, self._values = generation, {}
            if generation == self._generation:
                if len(self._values) >= self._capacity:
                    self._values = {}
                self._values[key] = value
        return value
