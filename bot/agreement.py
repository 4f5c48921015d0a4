"""Agreement statistics for `deploy-drill eval`: F1 counts, Spearman with average ranks, how
far apart two bands are. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.grading.grade import Band

BANDS: tuple[Band, ...] = ("weak", "developing", "solid", "strong")


@dataclass(frozen=True)
class F1:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        # Nothing to find and nothing found is perfect agreement, not 0/0.
        if self.tp + self.fp + self.fn == 0:
            return 1.0
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn)


def f1_counts(expected: Sequence[bool], predicted: Sequence[bool]) -> F1:
    """Counts of true and false positives and false negatives over paired booleans."""
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted differ in length")
    tp = sum(1 for e, p in zip(expected, predicted, strict=True) if e and p)
    fp = sum(1 for e, p in zip(expected, predicted, strict=True) if p and not e)
    fn = sum(1 for e, p in zip(expected, predicted, strict=True) if e and not p)
    return F1(tp, fp, fn)


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the average of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rho: Pearson correlation of average ranks (so ties are handled).

    Returns 0.0 when either side is constant (the correlation is undefined).
    """
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    n = len(xs)
    if n < 2:
        return 0.0
    rx, ry = average_ranks(xs), average_ranks(ys)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return 0.0
    return cov / math.sqrt(vx * vy)


def band_distance(a: Band, b: Band) -> int:
    return abs(BANDS.index(a) - BANDS.index(b))


def weighted_kappa(a: Sequence[Band], b: Sequence[Band]) -> float | None:
    """Cohen's kappa with quadratic weights on the four bands (weak < developing < solid <
    strong): 1 is perfect agreement, 0 what chance gives, below 0 worse than chance. None
    when undefined: no pairs, or both raters put every answer in one and the same band."""
    if len(a) != len(b):
        raise ValueError("a and b differ in length")
    n, k = len(a), len(BANDS)
    if n == 0:
        return None
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b, strict=True):
        observed[BANDS.index(x)][BANDS.index(y)] += 1
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weight = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    disagree = sum(weight[i][j] * observed[i][j] for i in range(k) for j in range(k)) / n
    chance = sum(weight[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k)) / n**2
    if chance == 0:
        return None
    return 1 - disagree / chance
