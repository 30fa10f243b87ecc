"""The model card: contents from a run directory, honest absences, and a clean load in a real browser."""

import html
import json
import os
import shutil
from pathlib import Path

import PIL.Image
import pytest

from stylegan import checkpoint
from stylegan.edit.card import read_run, recorded_metrics, write_card
from stylegan.edit.plot import svg_line_chart


@pytest.fixture
def run_dir(tmp_path, tiny_G):
    """A fake run directory: snapshot with metrics in its metadata, config.json, stats.jsonl, metric-*.jsonl."""
    run = tmp_path / "00000-tiny"
    run.mkdir()
    net = run / "network-snapshot-000012.safetensors"
    checkpoint.save(tiny_G, net, metadata={"kimg": "12", "metrics": json.dumps({"fid50k_full": 123.25})})
    config = {"train": {"cfg": "stylegan2", "batch": 4, "gamma": 0.5},
              "dataset": {"spec": "builtin:emoji", "content_hash": "cafe" * 16, "num_images": 1979, "name": "emoji"}}
    (run / "config.json").write_text(json.dumps(config))
    stats = [{"tick": i, "kimg": 4.0 * i, "loss_G": 2.0 - 0.1 * i, "loss_D": 1.0 + 0.05 * i, "r1": None,
              "augment_p": 0.01 * i} for i in range(5)]  # The last tick (16 kimg) is after the snapshot.
    (run / "stats.jsonl").write_text("".join(json.dumps(s) + "\n" for s in stats) + '{"torn')
    lines = [{"results": {"kid50k_full": 0.5}, "metric": "kid50k_full",
              "snapshot_pkl": "network-snapshot-000008.safetensors"},
             {"results": {"kid50k_full": 0.0425}, "metric": "kid50k_full", "snapshot_pkl": net.name}]
    (run / "metric-kid50k_full.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return net


def test_card_from_a_run_directory(run_dir, tmp_path):
    G = checkpoint.load(run_dir)
    run = read_run(run_dir)
    assert len(run.stats) == 5 and run.config["dataset"]["num_images"] == 1979  # The torn last line is skipped.
    metrics = {m.name: m for m in recorded_metrics(run, run_dir.name, G.metadata)}
    assert metrics["kid50k_full"].value == 0.0425 and metrics["fid50k_full"].source == "snapshot metadata"
    page = write_card(G, run_dir, tmp_path / "card")
    text = page.read_text()
    for name, size in (("samples_psi1.png", 128), ("samples_psi0.7.png", 128), ("truncation.png", 96),
                       ("mixing.png", 80)):
        assert f'src="{name}"' in text
        with PIL.Image.open(tmp_path / "card" / name) as im:
            assert im.size[0] == size
    with PIL.Image.open(tmp_path / "card" / "mixing.png") as im:
        assert im.size == (80, 80)  # 4 x 4 mixes + header row/column.
    assert G.model_id in text and "cafe" * 16 in text and "builtin:emoji" in text and "1979" in text
    assert "0.0425" in text and "123.25" in text and "0.5<" not in text  # This snapshot's line, not the older one.
    assert text.count("<svg") == 3 and ">loss_G<" in text and ">augment_p<" in text  # r1 is all None: no chart.
    assert "(4 ticks)" in text  # Curves up to this snapshot's 12 kimg.
    assert "uncurated" in text and "12 kimg" in text and '"gamma": 0.5' in html.unescape(text)
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text


def test_card_says_what_is_missing(tiny_G, tmp_path):
    net = tmp_path / "net.safetensors"
    checkpoint.save(tiny_G, net)
    page = write_card(checkpoint.load(net), net, tmp_path / "card")
    text = page.read_text()
    assert "No metrics are available" in text and "No training statistics" in text
    assert "Training data not recorded" in text and "No training configuration recorded" in text


def test_svg_chart_handles_gaps():
    svg = svg_line_chart([0, 1, 2, 3], [1.0, None, float("nan"), 2.0], "loss")
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "polyline" in svg
    assert "no finite values" in svg_line_chart([0, 1], [None, None], "empty")


def _chromium() -> str | None:
    return os.environ.get("STYLEGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def test_card_loads_in_a_browser(run_dir, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api",
                                     reason="playwright is not installed (pip install playwright)")
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set STYLEGAN_CHROMIUM=/path/to/chromium)")
    page_path = write_card(checkpoint.load(run_dir), run_dir, tmp_path / "card")
    errors, requests = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(Path(page_path).as_uri(), wait_until="load")
            images = page.evaluate("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, "
                                   "i.naturalWidth])")
            charts = page.evaluate("document.querySelectorAll('svg.chart').length")
        finally:
            browser.close()
    assert errors == []
    assert all(url.startswith("file://") for url in requests)  # Nothing from the network.
    assert len(images) == 4 and all(complete and width > 0 for _, complete, width in images), images
    assert charts == 3
