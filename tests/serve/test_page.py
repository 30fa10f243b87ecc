"""The page of `stylegan serve` in headless Chromium (Playwright): it loads, moving the psi slider and changing the
seed change the image, the mixing and interpolation controls reach the API, the network selector switches networks,
and nothing is fetched from outside the server."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium() -> str:
    exe = os.environ.get("STYLEGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set STYLEGAN_CHROMIUM=/path/to/chromium)")
    return exe


def test_page_updates_live(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    exe = chromium()
    errors, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(server + "/")

            def shown(old: str = "") -> tuple[str, bytes]:
                """Wait until the page shows an image for a URL other than `old`; return (URL, screenshot)."""
                page.wait_for_function("(old) => { const img = document.getElementById('image');"
                                       " return img.dataset.url && img.dataset.url !== old && img.complete"
                                       " && img.naturalWidth > 0; }", arg=old)
                url = page.evaluate("document.getElementById('image').dataset.url")
                return url, page.locator("#image").screenshot()

            def image_after(change) -> tuple[str, bytes]:
                """Once no request is under way (the page's own state), apply `change` and wait for its image."""
                page.wait_for_function("() => !inflight && !dirty")
                old = page.evaluate("document.getElementById('image').dataset.url")
                change()
                return shown(old)

            url0, shot0 = shown()
            assert "api/image?" in url0 and "seed=0" in url0 and "psi=1" in url0
            psi = page.locator("#psi")
            box = psi.bounding_box()
            url1, shot1 = image_after(lambda: psi.click(position={"x": box["width"] * 0.2, "y": box["height"] / 2}))
            assert "psi=1&" not in url1 and float(psi.input_value()) < 0 and shot1 != shot0
            url2, shot2 = image_after(lambda: page.fill("#seed", "7"))
            assert "seed=7" in url2 and shot2 != shot1
            assert "render" in page.text_content("#status") and "ms" in page.text_content("#status")
            assert page.get_attribute("#download", "href").startswith("blob:")
            assert page.is_hidden("#transform")
            url3, _ = image_after(lambda: page.click("button[data-group=fine]"))
            assert "mix_seed=1" in url3 and "mix_layers=3%2C4%2C5" in url3
            url4, _ = image_after(lambda: page.click("#play"))
            assert "api/interpolate?" in url4 and "seed_a=7" in url4 and "seed_b=1" in url4
            page.click("#play")  # Pause.
            url3, _ = image_after(lambda: page.select_option("#network", "sg3"))
            assert "network=sg3" in url3 and page.is_visible("#transform")
            page.screenshot(path=str(tmp_path / "serve.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "serve.png").stat().st_size > 0
    assert errors == []
    assert all(url.startswith((server, "blob:" + server)) for url in requests), requests
