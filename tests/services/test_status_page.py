"""The admin app's status page in a real headless Chromium: the screenshot's chart has one bar
per count, each as tall as its count, and the page lists every batch with its state."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from services import status_page
from services.aggregator.agreement import Agreement
from services.common.runtime import build_app
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol.layout import BatchKey
from tests.security.tokens import serve, stop
from tests.services.harness import BATCH, DATE, N_DATA, Cluster
from tests.services.test_servers import KEY

# Document k sets labels k..7: label j counts j + 1 reports, every count different and > 0.
COUNTS = [j + 1 for j in range(N_DATA)]
BAR = tuple(int(status_page.BAR_COLOUR[i:i + 2], 16) for i in (1, 3, 5))


def chromium() -> str:
    """The browser of the Debian package `chromium` (make install-test), or CHROMIUM."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    if not found:
        pytest.fail("no Chromium: install the Debian package chromium (make install-test) or "
                    "set CHROMIUM to a Chromium binary")
    return found


def screenshot(url: str, out: Path) -> bytes:
    run = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--window-size=900,700",
         f"--screenshot={out}", url],
        capture_output=True, text=True, timeout=120, cwd=out.parent, check=False)
    assert run.returncode == 0 and out.exists(), run.stderr[-2000:]
    return out.read_bytes()


def decode_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """(width, height, rows of RGB pixels) of an 8-bit RGB or RGBA PNG, as Chromium writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            line[x] = (line[x] + (0, left, up, (left + up) // 2,
                                  _paeth(left, up, corner))[kind]) & 0xFF
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, channels)])
        previous = line
    return width, height, rows


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _is_bar(pixel: tuple[int, int, int]) -> bool:
    return all(abs(p - b) <= 3 for p, b in zip(pixel, BAR, strict=True))


def bars(rows) -> list[int]:
    """The height of each bar, left to right, measured along the chart's baseline: the lowest
    row holding the bar colour."""
    base = max(y for y, row in enumerate(rows) if any(map(_is_bar, row)))
    row = rows[base]
    runs, x = [], 0
    while x < len(row):
        if _is_bar(row[x]):
            start = x
            while x < len(row) and _is_bar(row[x]):
                x += 1
            middle = (start + x) // 2
            runs.append(sum(1 for y in range(base + 1) if _is_bar(rows[y][middle])))
        x += 1
    return runs


@pytest.fixture
def cluster(tmp_path):
    cluster = Cluster(tmp_path / "store")
    reports = []
    for k in range(N_DATA):
        values = [1 if j >= k else 0 for j in range(N_DATA)]
        reports += pings.parse(cluster.ping(f"doc-{k}", values), {}, {BATCH: N_DATA})[0]
    PartitionWriter(cluster.contexts["ingest"]).write(KEY, "p1", reports)
    other = pings.parse(cluster.ping("doc-other", [1, 0, 1, 0], "test-1"), {}, {"test-1": 4})[0]
    PartitionWriter(cluster.contexts["ingest"]).write(BatchKey("test-1", DATE), "p1", other)
    cluster.run_servers()
    Agreement(cluster.contexts["aggregator-A"]).close(KEY)  # test-1 stays open
    cluster.run_servers()
    return cluster


def test_the_status_page_charts_each_count_as_one_bar_in_chromium(cluster, tmp_path):
    app = build_app(cluster.services["publisher-A"], cluster.contexts["publisher-A"],
                    run_background=False)
    url, server, thread = serve(app)
    try:
        png = screenshot(f"{url}/", tmp_path / "status.png")
    finally:
        stop(server, thread)
    width, height, rows = decode_png(png)
    assert (width, height) == (900, 700)
    heights = bars(rows)
    assert len(heights) == len(COUNTS), heights
    # Each bar as tall as its count: the tallest is the chart's height, the others in
    # proportion (to a pixel of rounding).
    assert heights[-1] == status_page.CHART_HEIGHT
    for count, measured in zip(COUNTS, heights, strict=True):
        assert abs(measured - status_page.CHART_HEIGHT * count / COUNTS[-1]) <= 1, heights


def test_the_status_page_lists_every_batch_with_its_state(cluster):
    page = status_page.render(cluster.storage, cluster.settings["A"])
    assert page.count("<tr><td>") == 2
    assert f"<tr><td>{BATCH}</td><td>{DATE}</td><td>published</td>" in page
    assert f"<tr><td>test-1</td><td>{DATE}</td><td>open</td>" in page
    assert page.count(f'fill="{status_page.BAR_COLOUR}"') == N_DATA
    assert f"{BATCH} {DATE}: {N_DATA} reports counted" in page  # one document per label
