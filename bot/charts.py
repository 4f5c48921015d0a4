"""The weekly digest's chart: scores over the weeks and criterion coverage, as a PNG."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.progress import Digest


def digest_png(data: Digest, title: str) -> bytes:
    # A bare Figure on the Agg canvas: no pyplot global state, safe on a server.
    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    labels = [start.strftime("%d %b") for start, _ in data.weekly_averages]
    values = [avg if avg is not None else float("nan") for _, avg in data.weekly_averages]
    left.plot(labels, values, marker="o", color="#1f77b4")
    left.set_ylim(0, 100)
    left.set_title("Average score by week")
    left.tick_params(axis="x", labelrotation=45, labelsize=8)
    left.grid(alpha=0.3)

    shown = list(data.coverage)[:8]
    names = [c.name if len(c.name) <= 28 else c.name[:27] + "…" for c in shown]
    right.barh(names, [100 * c.rate for c in shown], color="#2ca02c")
    right.set_xlim(0, 100)
    right.set_title("Criterion coverage this week (%)")
    right.tick_params(axis="y", labelsize=8)
    right.invert_yaxis()
    if not shown:
        right.text(50, 0, "no answers this week", ha="center")

    figure.suptitle(title)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
