"""Small charts for asset metadata, without a plotting library.

The Dagster UI renders markdown metadata, `data:` images included, so a line chart drawn as
SVG travels inside the materialization's metadata: no file, no server, no new dependency. The UI
shows markdown of under 1,000 characters inline (longer behind a "Show Markdown" link), so the
SVG is kept terse: integer coordinates, four labels, one path for the grid.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 360, 110
LEFT, RIGHT, TOP, BOTTOM = 36, 4, 6, 16  # margins: room for the axis labels
LINE = "#4f43dd"  # Dagster's accent blue-violet
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
    value_label: Callable[[float], str] = lambda v: f"{v:.0%}",
) -> str:
    """A line chart of `values` over `labels` (left to right), y axis from zero."""
    if len(labels) != len(values) or not values:
        raise ValueError("line_chart_svg needs as many labels as values, and at least one.")
    top = nice_ceiling(max(values))
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    step = (right - LEFT) / (len(values) - 1) if len(values) > 1 else 0.0
    start = LEFT if len(values) > 1 else (LEFT + right) // 2
    points = " ".join(
        f"{round(start + i * step)},{round(bottom - (bottom - TOP) * v / top)}"
        for i, v in enumerate(values)
    )
    middle = (TOP + bottom) // 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="10" fill="#666">'
        f'<path d="M{LEFT} {TOP}H{right}M{LEFT} {middle}H{right}M{LEFT} {bottom}H{right}" '
        f'stroke="#ddd"/>'
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(value_label(top))}</text>'
        f'<text x="{LEFT - 4}" y="{bottom + 3}" text-anchor="end">{escape(value_label(0))}</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 2}">{escape(labels[0])}</text>'
        f'<text x="{right}" y="{HEIGHT - 2}" text-anchor="end">{escape(labels[-1])}</text>'
        f'<polyline points="{points}" fill="none" stroke="{LINE}" stroke-width="2"/></svg>'
    )


def markdown_image(svg: str, alt: str) -> str:
    encoded = base64.b64encode(svg.encode()).decode()
    return f"![{escape(alt)}](data:image/svg+xml;base64,{encoded})"


def text_bar(fraction: float, width: int = 10) -> str:
    """A horizontal bar of unicode blocks, `fraction` of `width` cells (clamped to 0..1)."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[rest] if rest else "")
