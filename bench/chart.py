"""The benchmark table as an SVG chart (no dependencies): for each backend set and scenario,
one bar per implementation with its median requests/s, a tick for every round, and its p50
and p99; then the steady-rate runs, one bar per implementation for its p99 with p50 and p99.9
marked. side_by_side.py --chart draws it after a run; `python3 bench/chart.py RUN.json OUT.svg`
draws it again from a run's --json file. docs/benchmarks.md embeds the result.
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path

COLOURS = {"reference": "#9a9a9a", "authsome-rs-baseline": "#7fa7d6", "authsome-rs": "#1f6fbf"}
ORDER = {"reference": 0, "authsome-rs-baseline": 1, "authsome-rs": 2}
WIDTH, LABEL, PLOT, BAR, GAP, TOP = 1040, 230, 420, 16, 6, 48
STEADY = "resolve at 50 % of capacity"


def _text(x: float, y: float, text: str, size: int = 12, weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
            f'font-family="sans-serif" fill="#222">{escape(text)}</text>')


def _median(runs: list[dict], steady: bool) -> dict:
    # The same rule as the table: the round with the median requests/s (median p99 when paced).
    return sorted(runs, key=lambda r: r["p99_ms"] if steady else r["rps"])[(len(runs) - 1) // 2]


def write(path: Path, results: list[dict]) -> None:
    """`results`: every measured run, as side_by_side.py's --json holds them."""
    rows: dict[tuple[str, str, str], list[dict]] = {}
    for run in results:
        rows.setdefault((run["backends"], run["scenario"], run["implementation"]), []).append(run)
    groups: dict[tuple[str, str], list[tuple[dict, list[dict]]]] = {}
    for (backends, scenario, _), runs in rows.items():
        groups.setdefault((backends, scenario), []).append((_median(runs, scenario == STEADY), runs))
    for members in groups.values():
        members.sort(key=lambda member: ORDER.get(member[0]["implementation"], 9))
    parts = [_text(16, 28, "Requests per second (bars: median round; ticks: every round), with p50 / p99", 14, "bold")]
    y = TOP
    for (backends, scenario), members in groups.items():
        if scenario == STEADY:
            continue
        top = max(run["rps"] for _, runs in members for run in runs) or 1
        reference = next((m for m, _ in members if m["implementation"] == "reference"), None)
        parts.append(_text(16, y + 12, backends, 12, "bold"))
        parts.append(_text(16, y + 28, scenario, 11))
        for median, runs in members:
            colour = COLOURS.get(median["implementation"], "#555")
            parts.append(f'<rect x="{LABEL}" y="{y}" width="{PLOT * median["rps"] / top:.1f}" height="{BAR}" fill="{colour}"/>')
            for run in runs:
                x = LABEL + PLOT * run["rps"] / top
                parts.append(f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + BAR + 2}" stroke="#000"/>')
            ratio = ""
            if reference and reference["rps"] and median is not reference:
                ratio = f" ({median['rps'] / reference['rps']:.1f}x)"
            label = (f"{median['implementation']}: {median['rps']:,.0f}/s{ratio}, "
                     f"p50 {median['p50_ms']:.2f} ms, p99 {median['p99_ms']:.2f} ms")
            parts.append(_text(LABEL + PLOT + 12, y + BAR - 3, label, 11))
            y += BAR + GAP
        y += 18
    steady = {key: members for key, members in groups.items() if key[1] == STEADY}
    if steady:
        y += 10
        parts.append(_text(16, y, f"{STEADY}: p99 (bar), p50 and p99.9 (marks), milliseconds", 14, "bold"))
        y += 16
        top = max(m["p999_ms"] for members in steady.values() for m, _ in members) or 1
        for (backends, _), members in steady.items():
            parts.append(_text(16, y + 12, backends, 12, "bold"))
            for median, _ in members:
                colour = COLOURS.get(median["implementation"], "#555")
                parts.append(f'<rect x="{LABEL}" y="{y}" width="{PLOT * median["p99_ms"] / top:.1f}" height="{BAR}" fill="{colour}"/>')
                for mark in (median["p50_ms"], median["p999_ms"]):
                    x = LABEL + PLOT * mark / top
                    parts.append(f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + BAR + 2}" stroke="#000" stroke-width="2"/>')
                label = (f"{median['implementation']} at {median['rps']:,.0f}/s: p50 {median['p50_ms']:.2f}, "
                         f"p99 {median['p99_ms']:.2f}, p99.9 {median['p999_ms']:.2f} ms")
                parts.append(_text(LABEL + PLOT + 12, y + BAR - 3, label, 11))
                y += BAR + GAP
            y += 18
    height = y + 10
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">'
        f'<rect width="100%" height="100%" fill="#fff"/>{"".join(parts)}</svg>\n'
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: chart.py RUN.json OUT.svg")
    write(Path(sys.argv[2]), json.loads(Path(sys.argv[1]).read_text())["results"])
