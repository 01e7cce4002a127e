"""A virtual clock for the pool: time moves only when a test says so."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class VirtualClock:
    now: float = 1000.0
    wall_offset: float = 1_800_000_000.0 - 1000.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.wall_offset

    def advance(self, seconds: float) -> None:
        self.now += seconds
