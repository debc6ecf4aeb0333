"""The HTML report in a real headless Chromium: it loads without console errors and its charts render.

Chromium comes from the OS packages; .ci/run installs it. Where it is missing
the test says so and skips.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import tokenaudit as ta
from tokenaudit.report import build_report
from tokenaudit.report_render import render_report

from .conftest import SAMPLE_LOGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
BAR_COLOUR = (0x38, 0x67, 0xD6)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1200,2400", "--enable-logging=stderr", "--v=0"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs it)")


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(SAMPLE_LOGS, root / "logs")
    ta.ingest([str(root / "logs")], root / "ds", timezone="Europe/Berlin", fingerprint_key=b"b" * 32)
    day = pd.Timestamp("2026-11-21", tz="UTC")
    html = render_report(build_report(root / "ds", since=day, until=day + pd.Timedelta(days=2)), fmt="html")
    path = root / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


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
