"""What a step says on stderr: why each rejected record was rejected, a summary, a progress bar.

stdout is left to JSON output, so nothing here ever writes there.
"""

from __future__ import annotations

import collections
import sys
from contextlib import contextmanager

import click


class Tally:
    """Counts a step's records; every rejection is reported with its line, id and reason."""

    def __init__(self, step: str):
        self.step = step
        self.total = 0
        self.reasons: collections.Counter[str] = collections.Counter()
        self._held: list[tuple[int, str]] | None = None

    @property
    def errors(self) -> int:
        return sum(self.reasons.values())

    def reject(self, line: int, record_id: str | None, reason: str) -> None:
        self.reasons[reason] += 1
        where = f"line {line}" if record_id is None else f"line {line} (id {record_id})"
        message = f"{self.step}: {where}: {reason}"
        if self._held is None:
            click.echo(message, err=True)
        else:
            self._held.append((line, message))

    @contextmanager
    def in_line_order(self):
        """Hold the rejections of a block and report them sorted by line (the batch API
        finds some failures only after the whole block was read)."""
        self._held = []
        try:
            yield
        finally:
            held, self._held = sorted(self._held), None
            for _, message in held:
                click.echo(message, err=True)

    def warn(self, message: str) -> None:
        click.echo(f"{self.step}: warning: {message}", err=True)

    def summary(self) -> None:
        text = f"{self.step}: {self.errors} errors out of {self.total} total"
        if self.reasons:
            details = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.reasons.items()))
            text += f" ({details})"
        click.echo(text, err=True)


@contextmanager
def progress(items, label: str):
    """A progress bar on stderr, shown only when a person is watching stderr."""
    with click.progressbar(
        items, label=label, file=sys.stderr, hidden=not sys.stderr.isatty()
    ) as bar:
        yield bar
