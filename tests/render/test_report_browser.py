"""The report in a real browser (headless Chromium): the graph and every chart drew,
the graph's DOM holds the report's layers, and the page logged no error.

Chromium is Debian's `chromium` package (`.ci/run` installs it); the test skips, saying
why, only where no Chromium binary can be found.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

import cnncalc
from cnncalc.api import load
from cnncalc.render.html_report import render_html
from cnncalc.text import visible

from ..conftest import EXAMPLES

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
               None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium found (apt-get install chromium)")
WINDOW = (1400, 2400)          # tall enough that every chart is inside the screenshot
CHARTS = ("params", "macs", "memory", "field", "timeline")


def chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               f"--window-size={WINDOW[0]},{WINDOW[1]}", *args, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


class Elements(HTMLParser):
    """Every element's tag and attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.items.append((tag, dict(attrs)))

    def find(self, predicate) -> list[dict]:
        return [attrs for tag, attrs in self.items if predicate(tag, attrs)]


def dom(tmp_path: Path, url: str) -> tuple[Elements, str]:
    result = chromium(tmp_path, url, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    parser = Elements()
    parser.feed(result.stdout)
    return parser, result.stderr


def classes(attrs: dict) -> list[str]:
    return (attrs.get("class") or "").split()


def read_png(path: Path):
    """RGB pixels of an 8-bit RGB/RGBA PNG as a numpy array (zlib + the five PNG filters)."""
    import numpy as np
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(height, width * channels + 1)
    out = np.zeros((height, width * channels), dtype=np.int32)
    previous = np.zeros(width * channels, dtype=np.int32)
    for y in range(height):
        kind, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            line = row
        elif kind == 2:
            line = (row + previous) % 256
        elif kind == 1:           # Sub: running sum per channel
            line = np.cumsum(row.reshape(width, channels), axis=0).reshape(-1) % 256
        else:
            line = np.zeros_like(row)
            for x in range(width * channels):
                left = line[x - channels] if x >= channels else 0
                up = previous[x]
                if kind == 3:
                    line[x] = (row[x] + (left + up) // 2) % 256
                else:
                    upper_left = previous[x - channels] if x >= channels else 0
                    p = left + up - upper_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                    predictor = left if pa <= pb and pa <= pc else up if pb <= pc else upper_left
                    line[x] = (row[x] + predictor) % 256
        out[y] = line
        previous = line
    return out.reshape(height, width, channels)[:, :, :3]


def drawn(pixels, box: str) -> float:
    """The share of pixels in the box (x,y,w,h in CSS px) that are not the page's white."""
    x, y, w, h = (int(v) for v in box.split(","))
    region = pixels[y + 30:y + h - 4, x + 4:x + w - 4]         # below the box's heading
    assert region.size, box
    return float((region.min(axis=2) < 235).mean())


def write_page(tmp_path: Path, name: str, sizes=None, train=None) -> tuple[Path, object]:
    network = load(EXAMPLES / f"{name}.yaml")
    report = cnncalc.analyze(network, sizes=sizes, train=train)
    path = tmp_path / f"{name}.html"
    path.write_text(render_html(report, network=network, overrides={"sizes": sizes}), encoding="utf-8")
    return path, report


def no_errors(page: Elements, log: str) -> None:
    body = page.find(lambda tag, attrs: tag == "body")[0]
    assert body.get("data-ready") == "1", body
    assert "data-error" not in body, body["data-error"]
    assert not re.search(r"Uncaught|CONSOLE\(\d+\)\] \"(?:Error|TypeError|ReferenceError)", log), log[-3000:]


@pytest.mark.parametrize("name, sizes", [("resnet50", None), ("unet", None), ("mobilenet_v2", None),
                                         ("fcn", {"H": 224, "W": 224}), ("lenet5", None)])
def test_graph_and_charts_draw(tmp_path, name, sizes):
    path, report = write_page(tmp_path, name, sizes)
    page, log = dom(tmp_path, path.as_uri())
    no_errors(page, log)
    graph = page.find(lambda tag, attrs: tag == "svg" and attrs.get("id") == "graph")[0]
    nodes = page.find(lambda tag, attrs: tag == "g" and "node" in classes(attrs))
    layers = len(report.layers)
    # every layer is drawn as its own node at the default state (all these nets have <= 300 layers)
    assert int(graph["data-drawn"]) == len(nodes) == layers == int(graph["data-layers"])
    assert sorted(int(n["data-index"]) for n in nodes) == list(range(layers))
    edges = page.find(lambda tag, attrs: tag == "g" and "edge" in classes(attrs))
    assert len(edges) == sum(len(row.inputs) for row in report.layers)
    for chart in CHARTS:
        svg = page.find(lambda tag, attrs: tag == "svg" and attrs.get("data-chart") == chart)[0]
        assert int(svg["data-points"]) == layers, chart

    shot = tmp_path / "shot.png"
    result = chromium(tmp_path, path.as_uri(), f"--screenshot={shot}")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = read_png(shot)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    boxes = {attrs["id"]: attrs["data-box"] for attrs in page.find(lambda tag, attrs: "data-box" in attrs)}
    assert drawn(pixels, boxes["graph-box"]) > 0.02
    for chart in CHARTS:
        box = boxes[f"chart-{chart}"]
        assert int(box.split(",")[1]) + int(box.split(",")[3]) <= WINDOW[1], f"{chart} is below the screenshot"
        assert drawn(pixels, box) > 0.01, chart


def test_collapsed_blocks_still_stand_for_every_layer(tmp_path):
    path, report = write_page(tmp_path, "resnet50")
    page, log = dom(tmp_path, path.as_uri() + "#depth=0")
    no_errors(page, log)
    nodes = page.find(lambda tag, attrs: tag == "g" and "node" in classes(attrs))
    blocks = [n for n in nodes if "block" in classes(n)]
    top_level = [row for row in report.layers if not row.scopes]
    assert len(blocks) == 4 and len(nodes) == len(top_level) + 4          # layer1..layer4 folded
    assert sum(int(n["data-layers"]) for n in nodes) == len(report.layers)


def test_a_hostile_name_is_text_in_the_page(tmp_path):
    name = '</script><img src=x onerror="document.title=1"><b>bold</b>\u202e'
    text = (f"name: '{name}'\ninput: [1, 16, 16]\n"
            "layers:\n  - Conv2d: {out_channels: 2, kernel_size: 3}\n  - ReLU\n")
    network = cnncalc.loads(text)
    path = tmp_path / "hostile.html"
    path.write_text(render_html(cnncalc.analyze(network), network=network), encoding="utf-8")
    page, log = dom(tmp_path, path.as_uri())
    no_errors(page, log)
    assert not page.find(lambda tag, attrs: tag in ("img", "b"))
    result = chromium(tmp_path, path.as_uri(), "--dump-dom")
    title = re.search(r'<h1 id="title">(.*?)</h1>', result.stdout, re.S).group(1)
    assert "&lt;/script&gt;&lt;img" in title and visible("\u202e") in title


def test_training_step_chart_draws(tmp_path):
    """With --train the page draws a sixth chart: memory alive over the step's every event, peak named."""
    path, report = write_page(tmp_path, "resnet18", train={"optimizer": "sgd"})
    page, log = dom(tmp_path, path.as_uri())
    no_errors(page, log)
    svg = page.find(lambda tag, attrs: tag == "svg" and attrs.get("data-chart") == "train")[0]
    assert int(svg["data-points"]) == len(report.training.timeline)
    assert svg["data-peak-at"] == report.training.peak_at
    cards = page.find(lambda tag, attrs: tag == "div" and "train" in classes(attrs))
    assert len(cards) == 5                                   # backward MACs, saved, grads, state, peak
    shot = tmp_path / "shot.png"
    result = chromium(tmp_path, path.as_uri(), f"--screenshot={shot}")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = read_png(shot)
    boxes = {attrs["id"]: attrs["data-box"] for attrs in page.find(lambda tag, attrs: "data-box" in attrs)}
    for chart in CHARTS + ("train",):
        box = boxes[f"chart-{chart}"]
        assert int(box.split(",")[1]) + int(box.split(",")[3]) <= WINDOW[1], f"{chart} is below the screenshot"
        assert drawn(pixels, box) > 0.01, chart
