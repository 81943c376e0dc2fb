"""Small charts for asset metadata, without a plotting library.

The Dagster UI renders markdown metadata, `data:` images included, so a line chart drawn as
SVG travels inside the materialization's metadata: no file, no server, no new dependency.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 560, 180
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 26  # margins: room for the axis labels
LINE = "#4f43dd"  # Dagster's accent blue-violet
GRID = "#e3e3ea"
TEXT = "#5f6270"
_BLOCKS = " ▏▎▍▌▋▊▉█"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= value: a y axis that reads well."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-12):
            return float(step * power)
    return float(10 * power)


def line_chart_svg(
    labels: Sequence[str],
    values: Sequence[float],
    value_label: Callable[[float], str] = lambda v: f"{v:.1%}",
) -> str:
    """A line chart of `values` over `labels` (left to right), y axis from zero."""
    if len(labels) != len(values) or not values:
        raise ValueError("line_chart_svg needs as many labels as values, and at least one.")
    top = nice_ceiling(max(values))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (len(values) - 1) if len(values) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
    ]
    for fraction in (0, 0.5, 1):
        gy = y(top * fraction)
        parts.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" y2="{gy:.1f}" '
                     f'stroke="{GRID}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end" fill="{TEXT}">'
                     f"{escape(value_label(top * fraction))}</text>")
    shown = sorted({0, len(labels) // 2, len(labels) - 1})
    for i in shown:
        anchor = "start" if i == 0 and len(labels) > 1 else "end" if i == shown[-1] else "middle"
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" '
                     f'fill="{TEXT}">{escape(labels[i])}</text>')
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline points="{points}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    parts.extend(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{LINE}"/>'
                 for i, v in enumerate(values))
    parts.append("</svg>")
    return "".join(parts)


def markdown_image(svg: str, alt: str) -> str:
    encoded = base64.b64encode(svg.encode()).decode()
    return f"![{escape(alt)}](data:image/svg+xml;base64,{encoded})"


def text_bar(fraction: float, width: int = 16) -> str:
    """A horizontal bar of unicode blocks, `fraction` of `width` cells (clamped to 0..1)."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[rest] if rest else "")
