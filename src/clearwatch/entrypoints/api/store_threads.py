"""The API's threads for store work: what a request asks of the store runs off the event loop.

The store's drivers block, so a request's reads, checks and writes must not run on the event
loop. FastAPI would run each synchronous dependency, endpoint and response check in anyio's
thread pool (40 threads), a hand-off each; with 32 clients that is a hundred runnable threads
taking turns at one GIL. The hot routes instead hand their store work here in one go: a few
threads, as many as the store's connection pool keeps open (`adapters/db/engine.py`), so no
request waits for a thread while a connection idles, and none opens a connection of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from fastapi import Request

# Threads that do a request's store work at once. On two cores, more only take turns at the
# GIL (bench/README.md, HTTP API); a request past them waits its turn in the queue.
store_threads_max = 8

P = ParamSpec("P")
T = TypeVar("T")


class StoreThreads:
    """A fixed pool of threads; each piece of work runs in the context of the request."""

    def __init__(self, threads: int = store_threads_max) -> None:
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None  # made at first use, again after shutdown

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="clearwatch-store")
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
        return await loop.run_in_executor(self._pool, call)

    def shutdown(self) -> None:
        """Wait for the work already handed over; its threads end."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def store_threads_of(request: Request) -> StoreThreads:
    threads: StoreThreads = request.app.state.store_threads
    return threads
