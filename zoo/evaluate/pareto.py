"""The Pareto front, shared by `zoo bench` and the architecture search (``zoo.distill``)."""
from __future__ import annotations

from typing import Sequence


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the non-dominated points, every objective minimised, ordered by the first
    objective. A point equal to an earlier one is dropped (duplicates keep one)."""
    front = []
    for i, p in enumerate(points):
        dominated = any(
            all(a <= b for a, b in zip(q, p)) and (any(a < b for a, b in zip(q, p)) or (tuple(q) == tuple(p) and j < i))
            for j, q in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], i))
