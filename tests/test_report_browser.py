"""The HTML report in a real headless Chromium: it loads without console errors and its charts render.

Chromium comes from the OS packages; .ci/run installs it. It is found on PATH
as ``chromium``, ``chromium-browser`` or ``google-chrome``; where none is, the
test says so and skips.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import tokenaudit as ta
from tokenaudit.analysis.report import build_report
from tokenaudit.render.report import MIN_BAR_HEIGHT, render_report

from .conftest import SAMPLE_LOGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
BAR_COLOUR = (0x38, 0x67, 0xD6)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1200,2400", "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs it)")


#: Measures every bar as the browser lays it out and writes the heights into the page, for --dump-dom.
MEASURE = ("<script>document.body.insertAdjacentHTML('beforeend', '<pre id=\"bar-heights\">' + JSON.stringify("
           "[...document.querySelectorAll('svg rect.bar')].map(r => r.getBoundingClientRect().height)) + '</pre>')"
           "</script></body>")

#: Two periods of the samples: two days binned by hour, and all 18 months binned by week (most bins empty).
PERIODS = {"two_days": (pd.Timestamp("2026-11-21", tz="UTC"), pd.Timestamp("2026-11-23", tz="UTC")),
           "everything": (pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2026-12-01", tz="UTC"))}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(SAMPLE_LOGS, root / "logs")
    ta.ingest([str(root / "logs")], root / "ds", timezone="Europe/Berlin", fingerprint_key=b"b" * 32)
    return root / "ds"


def _write_report(dataset: Path, period: str) -> Path:
    since, until = PERIODS[period]
    path = dataset.parent / f"report-{period}.html"
    path.write_text(render_report(build_report(dataset, since=since, until=until), fmt="html"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report_file(dataset: Path) -> Path:
    return _write_report(dataset, "two_days")


def test_report_renders_in_chromium_without_console_errors(report_file: Path, tmp_path: Path) -> None:
    from PIL import Image  # matplotlib's dependency, in the dev extra

    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                          report_file.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2400)
    pixels = image.tobytes()
    bars = sum(1 for i in range(0, len(pixels), 3)
               if all(abs(pixels[i + k] - BAR_COLOUR[k]) <= 12 for k in range(3)))
    assert bars > 200, "the SVG charts did not render"


def test_dom_holds_the_charts_and_the_top_group(report_file: Path, tmp_path: Path) -> None:
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'p'}", "--dump-dom", report_file.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    assert dom.count("<svg") >= 1 and "<rect" in dom
    assert "untrusted_extra_audience" in dom and "pveum realm modify zitadel --audiences 377572587972067335" in dom


@pytest.mark.parametrize("period", list(PERIODS))
def test_every_bar_has_a_visible_height(dataset: Path, period: str, tmp_path: Path) -> None:
    page = _write_report(dataset, period)
    text = page.read_text(encoding="utf-8")
    measured = tmp_path / "measured.html"
    measured.write_text(text.replace("</body>", MEASURE), encoding="utf-8")
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'p'}", "--dump-dom", measured.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="bar-heights">(\[[^<]*\])</pre>', run.stdout)
    assert found, "the measuring script did not run"
    heights = json.loads(found.group(1))
    assert len(heights) == text.count('class="bar ') > 0
    assert min(heights) >= MIN_BAR_HEIGHT - 0.01, sorted(heights)[:5]
    # Each chart has both axes and a legend, and the bins follow the period.
    assert text.count('class="axis"') == 2 * text.count("<svg")
    assert text.count('<ul class="legend">') == text.count("<svg")
    assert ("hour (UTC)" if period == "two_days" else "week starting (Monday)") in text
