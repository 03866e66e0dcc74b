"""pareto.png: denoiser size vs compute, and measured latency vs compute, one panel per output
resolution (a 256px and a 1024px model are not comparable), the Pareto front drawn over the
points and labels placed so that they do not overlap."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..evaluate.pareto import pareto_front
from .rows import Row

# Label offsets tried in turn (points): the first whose box overlaps no placed label wins.
_OFFSETS = [(4, 4), (4, -10), (-4, 4), (-4, -10), (6, 14), (6, -20), (-6, 14), (-6, -20), (10, 26), (10, -32)]


def _panels(rows: list[Row]) -> list[tuple[str, str, str, list[tuple[float, float]], list[str]]]:
    pts = [r for r in rows if r.backbone and r.params and r.macs]
    panels = []
    for res in sorted({r.resolution for r in pts}, key=lambda x: x or 0):
        group = [r for r in pts if r.resolution == res]
        panels.append((f"Denoiser size vs compute, {res}px", "GMACs per call (attention included)", "parameters (M)",
                       [(r.macs / 1e9, r.params / 1e6) for r in group], [r.model_id for r in group]))
    timed = [r for r in pts if r.latency_ms is not None and r.latency_macs]
    for res in sorted({r.latency_res for r in timed}, key=lambda x: x or 0):
        group = [r for r in timed if r.latency_res == res]
        panels.append((f"Measured CPU latency, timed at {res}px", "GMACs at the timed shape", "latency, median ms",
                       [(r.latency_macs / 1e9, r.latency_ms) for r in group], [r.model_id for r in group]))
    return panels


def plot_pareto(rows: list[Row], path: Path, machine: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(rows)
    n = max(len(panels), 1)
    cols = min(n, 3)
    nrows = -(-n // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(6.5 * cols, 5.2 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    if not panels:
        axes.flat[0].text(0.5, 0.5, "no component counted", ha="center", va="center", transform=axes.flat[0].transAxes)
    for ax, (title, xlabel, ylabel, xy, labels) in zip(axes.flat, panels):
        _scatter(ax, xy)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
    fig.suptitle(f"zoo bench: Pareto fronts (red: not beaten on both axes); {machine[:80]}", fontsize=10)
    fig.tight_layout()
    # Labels last, once the axes' scales and layout are final, so their boxes are where they will be drawn.
    renderer = fig.canvas.get_renderer()
    for ax, (_, _, _, xy, labels) in zip(axes.flat, panels):
        _label(ax, xy, labels, renderer)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _scatter(ax: Any, xy: list[tuple[float, float]]) -> None:
    if not xy:
        return
    xs, ys = zip(*xy)
    front = pareto_front(list(xy))
    ax.scatter(xs, ys, s=30, color="tab:blue", zorder=3)
    fx, fy = [xy[i][0] for i in front], [xy[i][1] for i in front]
    ax.step(fx, fy, where="post", color="tab:red", lw=2.2, alpha=0.85, zorder=4)
    ax.scatter(fx, fy, s=90, facecolors="none", edgecolors="tab:red", linewidths=1.6, zorder=5)
    if min(xs) > 0 and max(xs) / min(xs) > 20:
        ax.set_xscale("log")
    if min(ys) > 0 and max(ys) / min(ys) > 20:
        ax.set_yscale("log")
    ax.margins(0.15)
    ax.grid(True, alpha=0.3)


def _label(ax: Any, xy: list[tuple[float, float]], labels: list[str], renderer: Any) -> list[Any]:
    """Greedy placement: each label takes the first offset whose box overlaps none placed so far."""
    placed, boxes = [], []
    for (x, y), text in sorted(zip(xy, labels), key=lambda p: (-p[0][1], p[0][0])):
        for dx, dy in _OFFSETS:
            ann = ax.annotate(text, (x, y), fontsize=7, xytext=(dx, dy), textcoords="offset points",
                              ha="left" if dx >= 0 else "right")
            box = ann.get_window_extent(renderer).expanded(1.05, 1.15)
            if not any(box.overlaps(b) for b in boxes):
                break
            ann.remove()
        else:  # every offset collides: keep the last with a leader line
            ann = ax.annotate(text, (x, y), fontsize=7, xytext=_OFFSETS[-1], textcoords="offset points",
                              arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.5"})
            box = ann.get_window_extent(renderer)
        boxes.append(box)
        placed.append(ann)
    return placed
