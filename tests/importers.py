"""Draw a built SVG the way slide tools do: Chromium, librsvg and LibreOffice's importer."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from conftest import wait_until
from svgtools import SVG, placed_icons

# Mean difference (0 to 1, over RGB) allowed between two renderers inside one icon's box.
# Measured: 0.00 to 0.03 for icons drawn right (resampling differs); an icon drawn at its
# source size instead gives 0.2 and more.
ICON_TOLERANCE = 0.06


def soffice() -> str:
    """Return LibreOffice's command; `make test` installs it."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.fail("no LibreOffice found: run `make test` (it installs it) or "
                    "apt-get install libreoffice-draw")
    return found


def svg_size(path: Path) -> tuple[int, int]:
    root = ET.fromstring(path.read_bytes())
    return round(float(root.get("width"))), round(float(root.get("height")))


def on_white(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    image = image.convert("RGBA")
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    flat = Image.new("RGBA", size, (255, 255, 255, 255))
    flat.alpha_composite(image)
    return flat.convert("RGB")


def rsvg_convert() -> str:
    """Return librsvg's converter; `make test` installs it."""
    found = shutil.which("rsvg-convert")
    if found is None:
        pytest.fail("no rsvg-convert found: run `make test` (it installs it) or "
                    "apt-get install librsvg2-bin")
    return found


def with_rsvg(svg: Path) -> Image.Image:
    width, height = svg_size(svg)
    result = subprocess.run([rsvg_convert(), "-w", str(width), "-h", str(height), str(svg)],
                            capture_output=True, check=True, timeout=120)
    return on_white(Image.open(io.BytesIO(result.stdout)), (width, height))


def with_libreoffice(svgs: list[Path], scratch: Path) -> dict[Path, Image.Image]:
    """Convert every SVG with one headless LibreOffice run (Draw's SVG importer)."""
    out = scratch / "libreoffice"
    out.mkdir(parents=True, exist_ok=True)
    profile = (scratch / "lo-profile").as_uri()
    subprocess.run([soffice(), f"-env:UserInstallation={profile}", "--headless",
                    "--convert-to", "png", "--outdir", str(out), *map(str, svgs)],
                   capture_output=True, check=True, timeout=300,
                   env={**os.environ, "HOME": str(scratch)})
    return {svg: on_white(Image.open(out / f"{svg.stem}.png"), svg_size(svg)) for svg in svgs}


def with_chromium(page, svg: Path) -> Image.Image:
    width, height = svg_size(svg)
    page.set_viewport_size({"width": width, "height": height})
    html = svg.with_suffix(".html")
    html.write_text(f'<!doctype html><body style="margin:0;background:#fff"><img id="f" '
                    f'src="{svg.name}" width="{width}" height="{height}" '
                    'style="display:block"></body>', encoding="utf-8")
    page.goto(html.as_uri())
    wait_until(page, "document.getElementById('f').complete")
    return on_white(Image.open(io.BytesIO(page.locator("#f").screenshot())), (width, height))


def icon_boxes(svg: Path) -> list[tuple[int, int, int, int]]:
    """Return each icon's box in pixels of the SVG's own size."""
    root = ET.fromstring(svg.read_bytes())
    viewbox = [float(v) for v in root.get("viewBox").split()]
    unit = float(root.get("width")) / viewbox[2]
    transform = root.find(f"{SVG}g").get("transform")
    tx, ty = (float(v) for v in transform.split("translate(")[1].split(")")[0].split())
    boxes = []
    for icon in placed_icons(root):
        x, y = (icon.x + tx) * unit, (icon.y + ty) * unit
        w, h = icon.width * unit, icon.height * unit
        boxes.append((round(x) + 1, round(y) + 1, round(x + w) - 1, round(y + h) - 1))
    return boxes


def icon_difference(first: Image.Image, second: Image.Image,
                    box: tuple[int, int, int, int]) -> float:
    """Return how much two renderings differ inside `box`, from 0 (same) to 1."""
    difference = ImageChops.difference(first.crop(box), second.crop(box))
    return sum(ImageStat.Stat(difference).mean) / 3 / 255
