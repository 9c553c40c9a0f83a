"""Helpers for the reliability tests: requests that start together, each in its own thread and connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def race(work: Callable[[int], object], threads: int, timeout: float = 180) -> tuple[list[object], list[BaseException]]:
    """
    Run ``work(i)`` in ``threads`` threads released together by a barrier.

    Each thread uses its own database connection (Django's are per thread) and closes it at the end.
    Returns the results, by index, and whatever the threads raised.
    """
    start = threading.Barrier(threads)
    results: list[object] = [None] * threads
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(30)
            results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout)
    assert not any(worker.is_alive() for worker in workers), "a thread is stuck"
    return results, errors
