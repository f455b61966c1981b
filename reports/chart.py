"""Inline SVG bar chart of average capaian per section (for the laporan PDF)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from reports._fmt import fmt_percent, predikat_color

AXIS_MAX = 120
FONT = "DejaVu Sans Condensed, DejaVu Sans, sans-serif"


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | None
    predikat: str | None


def _text(
    x: float,
    y: float,
    body: str,
    *,
    size: float = 11,
    anchor: str = "start",
    weight: str = "normal",
    fill: str = "#222",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-family="{FONT}" '
        f'text-anchor="{anchor}" font-weight="{weight}" fill="{fill}">{escape(body)}</text>'
    )


def bar_chart_svg(
    bars: Sequence[Bar], levels: tuple[str, ...], title: str = "Rata-rata capaian (%)"
) -> str:
    """Horizontal bars on a 0–120 axis with a dashed 100 % line; bars coloured by predikat."""
    width, label_w, right_pad = 680.0, 230.0, 86.0
    bar_h, gap, top = 22.0, 14.0, 34.0
    plot_w = width - label_w - right_pad
    plot_h = len(bars) * (bar_h + gap)
    legend_y = top + plot_h + 46
    height = legend_y + 22

    def x_of(v: float) -> float:
        return label_w + plot_w * max(0.0, min(v, AXIS_MAX)) / AXIS_MAX

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(title)}">',
        _text(label_w + plot_w / 2, 16, title, size=12, anchor="middle", weight="bold"),
    ]
    for tick in range(0, AXIS_MAX + 1, 20):
        x = x_of(tick)
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 6:.1f}" x2="{x:.1f}" '
            f'y2="{top + plot_h:.1f}" stroke="#d0d0d0" stroke-width="0.8"/>'
        )
        out.append(_text(x, top + plot_h + 16, str(tick), size=10, anchor="middle"))
    for i, bar in enumerate(bars):
        y = top + i * (bar_h + gap) + gap / 2
        lines = textwrap.wrap(bar.label, 34)[:2] or [""]
        first = y + bar_h / 2 + 4 - (len(lines) - 1) * 6.5
        for j, line in enumerate(lines):
            out.append(_text(label_w - 8, first + j * 13, line, size=10.5, anchor="end"))
        if bar.value is None:
            out.append(
                _text(width - 4, y + bar_h / 2 + 4, "–", size=10.5, anchor="end", fill="#666")
            )
            continue
        value = float(bar.value)
        x_end = x_of(value)
        color = predikat_color(bar.predikat, levels)
        out.append(
            f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{x_end - label_w:.1f}" '
            f'height="{bar_h:.1f}" fill="#{color}" stroke="#555" stroke-width="0.6"/>'
        )
        shown = fmt_percent(bar.value)
        # Values sit in their own column right of the axis, clear of the 100 % line.
        out.append(
            _text(width - 4, y + bar_h / 2 + 4, shown, size=10.5, anchor="end", weight="bold")
        )
    x100 = x_of(100)
    out.append(
        f'<line x1="{x100:.1f}" y1="{top - 8:.1f}" x2="{x100:.1f}" '
        f'y2="{top + plot_h:.1f}" stroke="#c00000" stroke-width="1.4" '
        f'stroke-dasharray="5,3"/>'
    )
    out.append(_text(x100, top - 11, "Target 100%", size=9.5, anchor="middle", fill="#c00000"))
    out.append(
        f'<line x1="{label_w:.1f}" y1="{top - 6:.1f}" x2="{label_w:.1f}" '
        f'y2="{top + plot_h:.1f}" stroke="#333" stroke-width="1"/>'
    )
    out.append(
        _text(
            label_w + plot_w / 2,
            top + plot_h + 32,
            "Capaian (%)",
            size=10,
            anchor="middle",
            fill="#444",
        )
    )
    # Legend
    x = 10.0
    for level in levels:
        out.append(
            f'<rect x="{x:.1f}" y="{legend_y - 10:.1f}" width="14" height="12" '
            f'fill="#{predikat_color(level, levels)}" stroke="#555" '
            f'stroke-width="0.6"/>'
        )
        out.append(_text(x + 19, legend_y, level, size=10))
        x += 19 + 7.0 * len(level) + 22
    out.append("</svg>")
    return "\n".join(out)
