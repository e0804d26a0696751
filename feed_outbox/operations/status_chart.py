"""The admin status page's chart: delivered/failed per minute and delivery lag, as inline SVG."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from feed_outbox.operations.status import MinuteFigures

DELIVERED, FAILED, LAG = "#417690", "#ba2121", "#e0a800"


def _axis(x: float, y: float, label: str, anchor: str = "start") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" fill="#666" '
        f'text-anchor="{anchor}">{escape(label)}</text>'
    )


def _frame(width: int, height: int, top: str, bottom_left: str, bottom_right: str) -> list[str]:
    return [
        f'<line x1="40" y1="{height - 20}" x2="{width}" y2="{height - 20}" stroke="#ccc"/>',
        _axis(36, 12, top, "end"),
        _axis(36, height - 20, "0", "end"),
        _axis(40, height - 4, bottom_left),
        _axis(width, height - 4, bottom_right, "end"),
    ]


def history_svg(minutes: list[MinuteFigures], width: int = 720, height: int = 140) -> SafeString:
    """Two small charts: stacked bars of delivered and failed events, then the lag line."""
    if not minutes:
        return mark_safe("")
    first, last = f"{minutes[0].minute:%H:%M}", f"{minutes[-1].minute:%H:%M} UTC"
    plot_w, plot_h = width - 40, height - 32
    step = plot_w / len(minutes)
    top = max((m.delivered + m.failed for m in minutes), default=0) or 1
    bars = _frame(width, height, f"{top:,}/min", first, last)
    for i, m in enumerate(minutes):
        x = 40 + i * step
        for value, base, color in ((m.delivered, 0, DELIVERED), (m.failed, m.delivered, FAILED)):
            if value:
                h = plot_h * value / top
                y = height - 20 - plot_h * base / top - h
                bars.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step - 0.5, 0.5):.1f}" '
                    f'height="{h:.1f}" fill="{color}"><title>{m.minute:%H:%M} '
                    f"{value:,} {'delivered' if color == DELIVERED else 'failed'}</title></rect>"
                )
    lag_top = max((m.lag_seconds for m in minutes), default=0.0) or 1.0
    lag = _frame(width, height, f"{lag_top:,.1f}s", first, last)
    points = " ".join(
        f"{40 + (i + 0.5) * step:.1f},{height - 20 - plot_h * m.lag_seconds / lag_top:.1f}"
        for i, m in enumerate(minutes)
    )
    lag.append(f'<polyline points="{points}" fill="none" stroke="{LAG}" stroke-width="1.5"/>')

    def svg(parts: list[str], title: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
        )

    return mark_safe(
        svg(bars, "Delivered (blue) and failed (red) events per minute")
        + "<br>"
        + svg(lag, "Delivery lag per minute (longest commit-to-delivery time), seconds")
    )
