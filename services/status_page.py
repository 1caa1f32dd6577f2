"""The admin app's read-only status page: batches with state and age, each published batch's
counts as an inline SVG bar chart (server-rendered, no script)."""

from __future__ import annotations

import html
import json

from services.protocol import layout, status

BAR_COLOUR = "#2b6cb0"  # the chart's bars, and only they: a reader (or a test) can count them
STUCK_COLOUR = "#c53030"
CHART_HEIGHT = 160
# Bars stay countable up to a few hundred labels; a wider batch scrolls sideways.
BAR_WIDTH, BAR_GAP = 18, 6
LABELS_SHOWN = 64  # more labels than this would overlap: only their counts are drawn

_STYLE = f"""
body {{ font: 14px system-ui, sans-serif; margin: 24px; color: #1a202c; background: #fff; }}
table {{ border-collapse: collapse; margin-bottom: 24px; }}
th, td {{ padding: 4px 12px; text-align: left; border-bottom: 1px solid #e2e8f0; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.stuck {{ color: {STUCK_COLOUR}; font-weight: bold; }}
figure {{ margin: 0 0 24px 0; overflow-x: auto; }}
figcaption {{ font-weight: bold; margin-bottom: 4px; }}
"""


def render(storage, settings) -> str:
    """The page for this server's batches, newest date first."""
    keys = sorted(status.batches(storage, settings),
                  key=lambda k: (k.submission_date, k.batch_id), reverse=True)
    summaries = [status.batch_summary(storage, settings, key) for key in keys]
    charts = []
    for key, summary in zip(keys, summaries, strict=True):
        if summary["state"] == "published":
            result = json.loads(storage.read(settings.private_bucket, layout.result(key)))
            charts.append(chart(f"{key.batch_id} {key.submission_date}: {result['valid']} "
                                f"reports counted", result["counts"]))
    server = html.escape(settings.server_id or "")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>prio-stream server {server}</title><style>{_STYLE}</style></head><body>"
            f"<h1>prio-stream server {server}</h1>{_table(summaries)}"
            f"<h2>Published counts</h2>{''.join(charts) or '<p>None published yet.</p>'}"
            f"</body></html>")


def _table(summaries: list[dict]) -> str:
    if not summaries:
        return "<p>No batch received yet.</p>"
    rows = []
    for s in summaries:
        state = html.escape(s["state"]) + (" <span class=stuck>stuck</span>" if s["stuck"] else "")
        rows.append(
            f"<tr><td>{html.escape(s['batch_id'])}</td><td>{s['submission_date']}</td>"
            f"<td>{state}</td><td class=num>{_age(s['age_seconds'])}</td>"
            f"<td class=num>{_age(s['idle_seconds'])}</td>"
            f"<td class=num>{s['partitions']['verified']} / {s['partitions']['received']}</td>"
            f"<td class=num>{s['waiting_for_peer']}</td></tr>")
    return ("<table><tr><th>batch</th><th>date</th><th>state</th><th>age</th><th>idle</th>"
            "<th>partitions verified / received</th><th>waiting for peer</th></tr>"
            f"{''.join(rows)}</table>")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def chart(title: str, counts: dict[str, int]) -> str:
    """One bar per label, its height the count's share of the largest; labels under the bars
    (up to LABELS_SHOWN), each count above its bar."""
    top = max(counts.values(), default=0) or 1
    labelled = len(counts) <= LABELS_SHOWN
    step = BAR_WIDTH + BAR_GAP
    base = CHART_HEIGHT + 20  # room for the count above the tallest bar
    width = max(step * len(counts) + BAR_GAP, 200)
    height = base + (70 if labelled else 10)
    parts = []
    for i, (label, count) in enumerate(counts.items()):
        x = BAR_GAP + i * step
        bar = round(CHART_HEIGHT * count / top)
        middle = x + BAR_WIDTH / 2
        parts.append(f'<rect x="{x}" y="{base - bar}" width="{BAR_WIDTH}" height="{bar}" '
                     f'fill="{BAR_COLOUR}"><title>{html.escape(label)}: {count}</title></rect>')
        if labelled:
            parts.append(f'<text x="{middle}" y="{base - bar - 4}" font-size="10" '
                         f'text-anchor="middle">{count}</text>')
            parts.append(f'<text x="{middle}" y="{base + 12}" font-size="11" text-anchor="end" '
                         f'transform="rotate(-45 {middle} {base + 12})">'
                         f'{html.escape(label[:24])}</text>')
    return (f"<figure><figcaption>{html.escape(title)}</figcaption>"
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="counts of {html.escape(title)}">'
            f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#a0aec0"/>'
            f"{''.join(parts)}</svg></figure>")
