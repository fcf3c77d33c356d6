"""Charts drawn on the server as SVG (no script, no CDN): horizontal bars with their labels."""

from markupsafe import Markup, escape

BAR = 26  # px per bar, gap included
LABEL_WIDTH = 132


def bar_chart(items: list[tuple[str, int]], title: str, width: int = 640) -> Markup:
    """One bar per (label, value); the longest bar is the largest value."""
    top = max((v for _, v in items), default=0) or 1
    span = width - LABEL_WIDTH - 56
    height = BAR * len(items) + 34
    rows = []
    for i, (label, value) in enumerate(items):
        y = 28 + i * BAR
        length = round(span * value / top)
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{length}" height="{BAR - 8}" rx="3"'
            f' fill="#1677ff"/>'
            f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 15}">{value}</text>'
        )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
        f' xmlns="http://www.w3.org/2000/svg" font-size="13" fill="#1f2328">'
        f'<text x="8" y="18" font-weight="600">{escape(title)}</text>{"".join(rows)}</svg>'
    )
