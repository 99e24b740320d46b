"""The study report in a real headless Chromium: loads offline, no console errors, every plot renders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: 'make test' installs Debian's chromium package")
        pytest.skip("chromium is not installed (make test installs it)")
    return path


def test_study_report_renders_in_chromium(full_study) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    result, *_ = full_study
    html = Path(result.report_html)
    errors: list[str] = []
    requests: list[str] = []
    ARTEFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: requests.append(req.url))
        page.goto(html.as_uri(), wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=30000)
        plots = page.eval_on_selector_all(
            ".plot", """els => els.map(el => {
                const svg = el.querySelector('svg.main-svg');
                const r = el.getBoundingClientRect();
                return {id: el.id, w: r.width, h: r.height,
                        marks: el.querySelectorAll('.point, .bars path, .boxlayer path, .scatterlayer path').length};
            })""")
        page.screenshot(path=str(ARTEFACTS / "study-report.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests  # offline: no CDN
    ids = {p["id"] for p in plots}
    assert {"pareto", "latency", "layers"} <= ids
    for p in plots:
        assert p["w"] > 200 and p["h"] > 200, p
        assert p["marks"] > 0, f"plot {p['id']} drew nothing"
    assert (ARTEFACTS / "study-report.png").stat().st_size > 20_000
