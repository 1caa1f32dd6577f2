"""The submission dates a report may carry: none older than the anti-replay window (its
copies could no longer be recognised), none ahead of the clock beyond the allowed skew."""

from __future__ import annotations

import datetime as dt


def admits(date: str, now: dt.datetime, retention_days: int, skew_seconds: float) -> bool:
    """Date arithmetic runs from today only, so 0001-01-01 and 9999-12-31 compare (as text)
    without overflow."""
    today = now.date()
    oldest = today - dt.timedelta(days=min(retention_days, (today - dt.date.min).days))
    newest = (now + dt.timedelta(seconds=skew_seconds)).date()
    return oldest.isoformat() <= date <= newest.isoformat()
