"""Simulated parallel workers: each evaluation occupies one worker for its training seconds."""

from __future__ import annotations

import heapq
from typing import Any

from ..errors import UserError


class Clock:
    """`workers` simulated GPUs and the simulated wall-clock time (seconds).

    `start(item, seconds)` puts `item` on a free worker; `next()` advances the clock to the earliest
    finishing evaluation and returns (finish time, item). Ties finish in the order they started, so
    one worker reproduces a sequential search exactly.
    """

    def __init__(self, workers: int = 1):
        if int(workers) < 1:
            raise UserError(f"simulated workers must be >= 1, got {workers}")
        self.workers = int(workers)
        self.now = 0.0
        self._running: list[tuple[float, int, Any]] = []
        self._started = 0

    @property
    def free(self) -> int:
        return self.workers - len(self._running)

    @property
    def busy(self) -> int:
        return len(self._running)

    def start(self, item: Any, seconds: float) -> None:
        if not self.free:
            raise RuntimeError("no free worker")
        heapq.heappush(self._running, (self.now + float(seconds), self._started, item))
        self._started += 1

    def next(self) -> tuple[float, Any]:
        finish, _, item = heapq.heappop(self._running)
        self.now = max(self.now, finish)
        return finish, item

    def running(self) -> list[Any]:
        return [item for _, _, item in sorted(self._running)]
