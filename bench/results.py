"""A run's output: the table it prints, bench/results/<date>.json and a PNG chart of the ratios."""

import json
import platform
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from bench.stats import Figure

RESULTS = Path(__file__).resolve().parent / "results"


def _num(x: float | None) -> str:
    if x is None:
        return "—"
    if x == 0 or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.1f}"


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table: it prints readably and pastes into the README as it is."""
    rows = [
        "| # | figure | value | baseline | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for f in figures:
        met = None if f.target is None else f.target.met(f)
        kind = ", a target" if f.baseline_kind == "target" else ""
        verdict = "" if met is None else ("yes" if met else "NO")
        label = f"{f.label} (ERRORS)" if f.errors else f.label
        rows.append(
            f"| {f.item} | {label} | {_num(f.value)} {f.unit} "
            f"| {_num(f.baseline)} ({f.baseline_label}{kind}) "
            f"| {_num(f.ratio)} | {f.target or ''} | {verdict} |"
        )
    return "\n".join(rows)


def document(
    figures: Sequence[Figure], *, seconds: float, counts: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "date": date.today().isoformat(),
        "machine": {
            "cpus": _cpus(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "seconds": round(seconds, 1),
        "counts": counts,
        "figures": [f.as_dict() for f in figures],
        **extra,
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def write(doc: dict[str, Any], out: Path = RESULTS, label: str = "") -> Path:
    """Writes <out>/<date>[-label].json (a later run the same day and label replaces it)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{doc['date']}{'-' + label if label else ''}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")
    return path


def chart(figures: Sequence[Figure], path: Path) -> Path:
    """Each figure's ratio to its baseline on a log axis (p99 only, where there are both); the
    target, where the issue sets one on the ratio, as a mark. Red bars miss their target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [f for f in figures if f.ratio is not None and not f.name.endswith("_p50")]
    fig, ax = plt.subplots(figsize=(11, 0.3 * len(shown) + 1.4))
    ratios = [max(f.ratio or 0, 1e-3) for f in shown]
    colours = [
        "#c0392b" if f.target is not None and f.target.met(f) is False else "#2e86c1" for f in shown
    ]
    ys = list(range(len(shown)))
    hatches = ["///" if f.errors else "" for f in shown]
    ax.barh(ys, ratios, color=colours, hatch=hatches, edgecolor="white")
    for y, f, r in zip(ys, shown, ratios, strict=True):
        if f.target is not None and f.target.of == "ratio":
            ax.plot([f.target.value], [y], marker="|", markersize=14, color="black")
        note = f" {_num(f.ratio)}x  ({_num(f.value)} {f.unit})"
        ax.annotate(note, (r, y), va="center", fontsize=7)
    ax.axvline(1, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlim(min(*ratios, 1) / 2, max(*ratios, 1) * 12)
    ax.set_yticks(ys, [f"{f.item}. {f.label}" for f in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("ratio to its baseline (same run, or the target where the engine has none)")
    ax.set_title(
        f"make bench {date.today().isoformat()}: red misses its target, hatched had errors, "
        "| marks a ratio target",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
