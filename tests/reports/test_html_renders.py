"""The HTML report renders in a real browser: headless Chromium takes a non-blank screenshot.

Skipped where Debian's chromium is not installed (`apt-get install chromium`).
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from itertools import accumulate
from pathlib import Path

import pytest
from report_data import results

from pytest_llmbench.reports import write_html

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 1280, 2400

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"
)


def screenshot(page: Path, png: Path, profile: Path) -> None:
    subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}",
            f"--window-size={WIDTH},{HEIGHT}", page.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct colours of an 8-bit RGB(A), non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, [], 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, interlace) == (8, 0)
            channels = {2: 3, 6: 4}[colour_type]
        elif kind == b"IDAT":
            idat.append(body)
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(
            raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels
        )
        colours.update(bytes(line[i : i + channels]) for i in range(0, stride, channels))
        previous = line
    return width, height, colours


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    if kind == 1:  # Sub
        for c in range(bpp):
            line[c::bpp] = bytes(v & 255 for v in accumulate(line[c::bpp]))
    elif kind == 2:  # Up
        line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
    elif kind == 3:  # Average
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:  # Paeth
        for i in range(len(line)):
            a, c = (line[i - bpp], prev[i - bpp]) if i >= bpp else (0, 0)
            b = prev[i]
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return line


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, int, set[bytes]]:
    folder = tmp_path_factory.mktemp("html")
    write_html(folder / "report.html", results())
    png = folder / "report.png"
    screenshot(folder / "report.html", png, folder / "profile")
    assert png.stat().st_size > 10_000
    return png_pixels(png.read_bytes())


def test_screenshot_has_the_window_size(rendered: tuple[int, int, set[bytes]]) -> None:
    width, height, _ = rendered
    assert (width, height) == (WIDTH, HEIGHT)


def test_screenshot_is_not_blank(rendered: tuple[int, int, set[bytes]]) -> None:
    _, _, colours = rendered
    assert len(colours) > 100


def test_page_background_and_plot_colours_are_drawn(rendered: tuple[int, int, set[bytes]]) -> None:
    _, _, colours = rendered
    rgb = {colour[:3] for colour in colours}
    assert bytes.fromhex("f5f7fa") in rgb  # page background (inline CSS applied)
    assert bytes.fromhex("3b6fb6") in rgb  # first series colour (SVG bars and lines drawn)
    assert bytes.fromhex("fde8e8") in rgb  # red background of a failed check / error count
