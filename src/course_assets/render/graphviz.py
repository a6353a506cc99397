"""Find Graphviz's `dot` and render DOT source to SVG with it."""

from __future__ import annotations

import functools
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_assets.errors import FigureError, GraphvizMissingError


@dataclass(frozen=True)
class Rendered:
    svg: bytes
    warnings: tuple[str, ...]


def install_hint() -> str:
    """Return the command that installs Graphviz on this platform."""
    system = platform.system()
    if system == "Darwin":
        return "brew install graphviz"
    if system == "Windows":
        return "winget install graphviz (or choco install graphviz)"
    if shutil.which("apt-get"):
        return "sudo apt-get install graphviz"
    if shutil.which("dnf"):
        return "sudo dnf install graphviz"
    if shutil.which("pacman"):
        return "sudo pacman -S graphviz"
    return "install Graphviz from your package manager (the package is usually named graphviz)"


def find_dot() -> str:
    """Return the path of `dot`, or raise with the platform's install command."""
    found = shutil.which("dot")
    if found is None:
        raise GraphvizMissingError(
            f"Graphviz's 'dot' was not found on PATH; install it with: {install_hint()}"
        )
    return found


@functools.cache
def graphviz_version() -> str:
    """Return the installed Graphviz version, e.g. '2.43.0'."""
    result = subprocess.run([find_dot(), "-V"], capture_output=True, text=True, check=False)
    match = re.search(r"version\s+(\S+)", result.stderr + result.stdout)
    return match.group(1) if match else "unknown"


def render_svg(source: str, timeout: float) -> Rendered:
    """Render DOT `source` to SVG; raise FigureError with Graphviz's own message on failure."""
    try:
        result = subprocess.run(
            [find_dot(), "-Tsvg"], input=source.encode("utf-8"), capture_output=True,
            timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        raise FigureError(f"Graphviz took longer than {timeout:g} s to lay out the figure") from None
    messages = tuple(
        line.strip() for line in result.stderr.decode("utf-8", "replace").splitlines()
        if line.strip()
    )
    if result.returncode != 0 or not result.stdout:
        detail = "; ".join(messages) or f"dot exited with code {result.returncode}"
        raise FigureError(f"Graphviz rejected the graph: {detail}")
    return Rendered(result.stdout, tuple(dict.fromkeys(messages)))


def cached_graphviz_version(cache: Path) -> str:
    """Return Graphviz's version without running `dot` when `dot` has not changed since last time."""
    executable = Path(find_dot()).resolve()
    stat = executable.stat()
    key = f"{executable}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        stored_key, version = cache.read_text(encoding="utf-8").split("\n")[:2]
        if stored_key == key:
            return version
    except (OSError, ValueError):
        pass
    version = graphviz_version()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(f"{key}\n{version}\n", encoding="utf-8")
    except OSError:
        pass  # a cache that cannot be written only costs one `dot -V` next time
    return version


def layout_json(source: str, timeout: float) -> dict[str, Any]:
    """Return Graphviz's JSON layout of DOT `source`: every object's position and draw ops."""
    import json

    try:
        result = subprocess.run(
            [find_dot(), "-Tjson"], input=source.encode("utf-8"), capture_output=True,
            timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        raise FigureError(f"Graphviz took longer than {timeout:g} s to lay out the figure") from None
    if result.returncode != 0 or not result.stdout:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FigureError(f"Graphviz rejected the graph: {'; '.join(detail) or result.returncode}")
    # Its warnings (no image loader for JSON) are the SVG run's to report, not this one's.
    layout: dict[str, Any] = json.loads(result.stdout)
    return layout
