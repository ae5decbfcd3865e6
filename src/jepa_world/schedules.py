"""The half-cosine schedule shared by the learning rate, the course prober and BYOL's momentum."""

from __future__ import annotations

import math


def cosine_between(progress: float, start: float, end: float) -> float:
    """``start`` at ``progress = 0``, ``end`` at ``progress >= 1``, along half a cosine.

    ``end + (start - end)·(1 + cos(π·p))/2`` with ``p`` clipped to ``[0, 1]``.
    """
    p = min(max(progress, 0.0), 1.0)
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * p))
