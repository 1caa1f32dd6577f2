"""The seed's `index` step: which labels a batch's counts belong to.

A measurement wider than one batch is split into batches `<name>-0`, `<name>-1`, ... (e.g.
`content.blocking_blocked-0` covers labels 0..2045 and `-1` the rest): the counts of batch
`<name>-k` start at the sum of the n_data of batches `<name>-0` .. `<name>-(k-1)`.
"""

from __future__ import annotations

import re

_PART = re.compile(r"^(?P<name>.+)-(?P<part>\d+)$")


def offset(batch_id: str, data_config: dict[str, int]) -> int:
    match = _PART.match(batch_id)
    if match is None:
        return 0
    name, part = match["name"], int(match["part"])
    earlier = [f"{name}-{k}" for k in range(part)]
    if not all(b in data_config for b in earlier):
        raise ValueError(f"DATA_CONFIG lacks an earlier part of {batch_id}")
    return sum(data_config[b] for b in earlier)


def labelled(counts: list[int], batch_id: str, data_config: dict[str, int],
             labels: list[str] | None) -> dict[str, int]:
    """{label: count}; labels are the indices themselves without LABELS_FILE."""
    start = offset(batch_id, data_config)
    if labels is None:
        return {str(start + i): count for i, count in enumerate(counts)}
    if start + len(counts) > len(labels):
        raise ValueError(f"LABELS_FILE has {len(labels)} labels, batch {batch_id} needs "
                         f"{start + len(counts)}")
    return dict(zip(labels[start:start + len(counts)], counts, strict=True))
