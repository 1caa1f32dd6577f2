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


def day_is_over(date: str, now: dt.datetime, grace_seconds: float) -> bool:
    """The day has ended and grace_seconds more have passed: counted back from now, so that
    no date's end is computed (9999-12-31 + 1 day does not fit a datetime)."""
    cutoff = now - dt.timedelta(days=1, seconds=grace_seconds)
    return date <= cutoff.date().isoformat()
