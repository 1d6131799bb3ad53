"""Bar charts as inline SVG, written on the server: no script, no font or file from anywhere
else, the same on screen, in print and in the PDF. Every bar can link to the cases behind it."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 56
# Distinct in greyscale print too (dark, middle, light).
COLOURS = ("#1f3a5f", "#5b8cc2", "#b9cfe8")


@dataclass(frozen=True)
class Series:
    """One series of bars: its name, a value per category, and a link per category."""

    name: str
    values: tuple[int, ...]
    links: tuple[str | None, ...]


def _nice_max(value: int) -> int:
    """A round top for the axis, at least `value`."""
    if value <= 5:
        return max(value, 1)
    step: int = 10 ** (len(str(value)) - 1)
    for factor in (1, 2, 5, 10):
        if value <= factor * step:
            return factor * step
    return value


def bar_chart(
    title: str, categories: list[str], series: list[Series], *, label_every: int = 1
) -> Markup:
    """Grouped bars: one group per category, one bar per series, with axis, legend and title
    (the title is also the SVG's accessible name)."""
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(categories), 1)
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{value:g}</text>"
        )
    for i, category in enumerate(categories):
        x0 = LEFT + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / top if top else 0
            x, y = x0 + j * bar_w, TOP + plot_h - h
            bar = (
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(s.name)}, '
                f"{escape(category)}: {value}</title></rect>"
            )
            link = s.links[i]
            parts.append(f'<a href="{escape(link)}">{bar}</a>' if link and value else bar)
        if i % label_every == 0:
            cx = LEFT + i * group_w + group_w / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                f'text-anchor="middle">{escape(category)}</text>'
            )
    for j, s in enumerate(series):
        x = LEFT + j * 180
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 18}" width="10" height="10" '
            f'fill="{COLOURS[j % len(COLOURS)]}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 9}" font-size="11">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
