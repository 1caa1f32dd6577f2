"""Results as Markdown tables, ready to paste into the README."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells) -> None:
        self.rows.append(list(cells))

    def markdown(self) -> str:
        cells = [[_cell(value) for value in row] for row in self.rows]
        lines = [
            f"### {self.title}",
            "",
            "| " + " | ".join(self.columns) + " |",
            "|" + "|".join("---:" for _ in self.columns) + "|",
            *("| " + " | ".join(row) + " |" for row in cells),
        ]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)
