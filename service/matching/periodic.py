"""Figures the matcher reads from the database now and then rather than on every match: each
process keeps its own, and reads it again once it is older than `seconds`, or, with
`always_below`, whenever it is below that (a small figure moves fast and is cheap to read)."""

import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Periodic:
    seconds: float
    value: Any
    always_below: float | None = None
    at: float = float("-inf")

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        small = self.always_below is not None and self.value < self.always_below
        return small or now - self.at > self.seconds

    def keep(self, value: Any, now: float | None = None) -> Any:
        self.value, self.at = value, time.monotonic() if now is None else now
        return value
