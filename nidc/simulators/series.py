"""Deterministic signal shapes the simulators emit (sample index in, value out)."""

from __future__ import annotations

import math


def spindle_speed(i: int) -> float:
    """rpm, 12000 +- 600."""
    return round(12000 + 600 * math.sin(i / 15), 3)


def spindle_temperature(i: int) -> float:
    """Cel, a slow saw tooth 38..48."""
    return round(38 + (i % 100) * 0.1, 3)


def feed_rate(i: int) -> float:
    """mm/min, steps between programs."""
    return float(800 + 50 * ((i // 40) % 5))


def alarm_active(i: int) -> bool:
    """An alarm for 5 samples in every 97."""
    return i % 97 < 5
