import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def run_together(count: int, action: Callable[[int], T]) -> list[T]:
    """Run ``action(i)`` in ``count`` threads released at the same instant.

    Each thread uses its own database connection, as separate requests would.
    """
    barrier = threading.Barrier(count)

    def worker(index: int) -> T:
        try:
            barrier.wait(timeout=30)
            return action(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))
