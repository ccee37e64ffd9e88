"""The HTML report as a person sees it: rendered by headless Chromium, the parts and their
numbered markers are on the page.

The screenshot is kept in the test's temp folder and its path printed (``pytest -s``);
the checks below are what a look at it confirms: shaded parts, a red marker per error and
an orange one per warning, and the table beside them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from freecad_spatial import RESOURCES
from freecad_spatial.spatial_tools.check.render_svg import BASE_RGB, SEVERITY_RGB
from freecad_spatial.spatial_tools.dfm.finding import Severity

EXE = Path(sys.executable).with_name("freecad-spatial")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SAMPLES = [RESOURCES / "samples" / n for n in ("bracket.FCStd", "plate_with_holes.step", "housing.brep")]

PILLS_END = 140  # px: the header with the per-severity count pills ends here

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (./setup.sh test installs it)")


def pixels_of(image):
    """The image's pixels: Pillow 12 renamed getdata (deprecated, gone in Pillow 14)."""
    flattened = getattr(image, "get_flattened_data", None)
    return flattened() if flattened is not None else image.getdata()


def screenshot(page: Path, png: Path, profile: Path, width: int = 1280, height: int = 2400) -> None:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},{height}",
    ]  # fmt: skip
    proc = subprocess.run([CHROMIUM, *flags, f"--screenshot={png}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert png.is_file() and png.stat().st_size > 10_000, proc.stderr[-2000:]


def near(pixel: tuple[int, int, int], rgb: tuple[int, int, int], tol: int = 18) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, rgb, strict=True))


def blobs(image, rgb: tuple[int, int, int], min_pixels: int = 40) -> int:
    """How many separate patches of colour ``rgb`` the image holds (4-connected, coarse grid)."""
    width, height = image.size
    step = 2
    pixels = image.load()
    hits = {(x, y) for y in range(0, height, step) for x in range(0, width, step) if near(pixels[x, y][:3], rgb)}
    count = 0
    while hits:
        stack = [hits.pop()]
        size = 1
        while stack:
            x, y = stack.pop()
            for n in ((x + step, y), (x - step, y), (x, y + step), (x, y - step)):
                if n in hits:
                    hits.remove(n)
                    stack.append(n)
                    size += 1
        count += size * step * step >= min_pixels
    return count


def render(work: Path, files: list[Path]) -> tuple[Path, dict]:
    page, data = work / "report.html", work / "report.json"
    for fmt, out in (("html", page), ("json", data)):
        proc = subprocess.run(
            [str(EXE), "check", *map(str, files), "--process", "cnc-3axis", "--format", fmt, "--out", str(out)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode in (0, 1), proc.stderr
    png = work / "report.png"
    screenshot(page, png, work / "chromium-profile")
    print(f"rendered report: {png}")
    return png, json.loads(data.read_text())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render(tmp_path_factory.mktemp("report-render"), SAMPLES)


def test_the_rendered_page_shows_the_parts(rendered):
    from PIL import Image

    png, _ = rendered
    image = Image.open(png).convert("RGB")
    pixels = pixels_of(image)
    # Lit faces are the base colour scaled by the light: a blue-grey whose channels keep its order.
    shaded = sum(1 for r, g, b in pixels if b > g > r and b - r > 15 and 60 < b < 250 and r < BASE_RGB[0] + 10)
    assert shaded > 60_000, f"only {shaded} part-coloured pixels in {png}"


def test_every_marker_of_the_first_part_is_drawn_in_its_severity_colour(rendered):
    from PIL import Image

    png, report = rendered
    image = Image.open(png).convert("RGB")
    bracket = report["files"][0]
    assert bracket["path"].endswith("bracket.FCStd") and bracket["status"] == "ok"
    # The first part's picture sits at the top left, below the summary pills (which use the
    # same colours): count the marker discs drawn there.
    top = image.crop((0, PILLS_END, image.size[0] // 2, 560))
    expected = {s: sum(1 for f in bracket["findings"] if f["severity"] == s.value and f.get("location")) for s in Severity}
    assert expected[Severity.ERROR] >= 1 and expected[Severity.WARNING] >= 1, expected
    for severity in (Severity.ERROR, Severity.WARNING):
        assert blobs(top, SEVERITY_RGB[severity]) >= expected[severity], (severity, expected, png)


def test_the_clean_part_has_no_markers(tmp_path):
    from PIL import Image

    png, report = render(tmp_path, [SAMPLES[1]])
    assert report["files"][0]["findings"] == []
    image = Image.open(png).convert("RGB").crop((0, PILLS_END, 1280, 800))
    assert not any(blobs(image, rgb) for rgb in SEVERITY_RGB.values()), png
    shaded = sum(1 for r, g, b in pixels_of(image) if b > g > r and b - r > 15 and 60 < b < 250)
    assert shaded > 20_000, png
