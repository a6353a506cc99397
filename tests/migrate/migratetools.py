"""Helpers for the migrate tests: service encoders, the test corpus, temporary courses, SVG facts.

The encoders are written from each service's documented scheme, independently of the decoders
under test, so a round trip checks the decoder against the service and not against itself.
"""

from __future__ import annotations

import base64
import json
import re
import textwrap
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner, Result

from course_assets.cli import cli

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO = HERE.parents[1]
SEED_COPY = HERE.parent / "data" / "seed-chapter-1.md"  # shared with the core tests
# The seed chapter the issue refers to, outside the repository (read-only).
SHARED_SEED = Path(__file__).parents[2] / ".." / "shared" / "seed" / "chapter-1.md"
SVG = "{http://www.w3.org/2000/svg}"

# -- encoders: what each service's own clients do ----------------------------------------------

def kroki_url(language: str, source: str, fmt: str = "svg", base: str = "https://kroki.io") -> str:
    """Encode like Kroki's documentation: zlib level 9, then URL-safe base64."""
    payload = base64.urlsafe_b64encode(zlib.compress(source.encode("utf-8"), 9)).decode("ascii")
    return f"{base}/{language}/{fmt}/{payload}"


def mermaid_ink_url(source: str, form: str = "plain", *, urlsafe: bool = False,
                    padded: bool = True, kind: str = "img") -> str:
    """Encode like mermaid.ink's clients: base64 of the code, of JSON, or `pako:` deflated JSON."""
    state = json.dumps({"code": source, "mermaid": {"theme": "default"}})
    if form == "plain":
        data = source.encode("utf-8")
    elif form == "json":
        data = state.encode("utf-8")
    elif form == "pako":
        # The Mermaid live editor: pako.deflate (a zlib stream), js-base64's URL-safe form.
        data = zlib.compress(state.encode("utf-8"))
        urlsafe, padded = True, False
    else:
        raise ValueError(form)
    text = base64.b64encode(data).decode("ascii")
    if urlsafe:
        text = text.replace("+", "-").replace("/", "_")
    if not padded:
        text = text.rstrip("=")
    prefix = "pako:" if form == "pako" else ""
    return f"https://mermaid.ink/{kind}/{prefix}{text}"


_PLANTUML_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"


def plantuml_encode64(data: bytes) -> str:
    """PlantUML's base64 variant, three bytes to four characters, short groups zero-padded."""
    out = []
    for index in range(0, len(data), 3):
        chunk = data[index:index + 3].ljust(3, b"\0")
        b1, b2, b3 = chunk
        for value in (b1 >> 2, ((b1 & 0x3) << 4) | (b2 >> 4), ((b2 & 0xF) << 2) | (b3 >> 6),
                      b3 & 0x3F):
            out.append(_PLANTUML_DIGITS[value])
    return "".join(out)


def plantuml_payload(source: str, variant: str = "deflate") -> str:
    """Encode like a PlantUML server: raw deflate, `~1` zlib stream, or `~h` hex."""
    data = source.encode("utf-8")
    if variant == "deflate":
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return plantuml_encode64(compressor.compress(data) + compressor.flush())
    if variant == "~1":
        return "~1" + plantuml_encode64(zlib.compress(data, 9))
    if variant == "~h":
        return "~h" + data.hex().upper()
    raise ValueError(variant)


def plantuml_url(source: str, variant: str = "deflate", fmt: str = "svg",
                 base: str = "https://www.plantuml.com/plantuml") -> str:
    return f"{base}/{fmt}/{plantuml_payload(source, variant)}"


# -- the corpus ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CorpusEntry:
    """A figure source written for the tests, with what its SVG must show."""

    name: str
    language: str  # "mermaid" or "graphviz"
    source: str
    labels: tuple[str, ...]
    edges: int
    colours: tuple[str, ...] = ()
    strokes: tuple[tuple[str, str], ...] = ()  # (colour, width) some edge is drawn with
    order: tuple[tuple[str, str, str], ...] = ()  # (label, "above" | "left-of", label)


def corpus() -> list[CorpusEntry]:
    entries = []
    for path in sorted((DATA / "mermaid").glob("*.mmd")) + sorted((DATA / "dot").glob("*.dot")):
        source = path.read_text(encoding="utf-8")
        expect = dict(re.findall(r"(?m)^\s*(?:%%|//) expect (\w+): (.*)$", source))
        order = []
        for rule in _split(expect.get("order", "")):
            match = re.fullmatch(r"(.+?) (above|left-of) (.+)", rule)
            assert match, f"{path.name}: bad order rule {rule!r}"
            order.append((match.group(1), match.group(2), match.group(3)))
        entries.append(CorpusEntry(
            name=path.stem,
            language="mermaid" if path.suffix == ".mmd" else "graphviz",
            source=source,
            labels=tuple(_split(expect["labels"])),
            edges=int(expect["edges"]),
            colours=tuple(_split(expect.get("colours", ""))),
            strokes=tuple(tuple(rule.split()) for rule in _split(expect.get("strokes", ""))),
            order=tuple(order),
        ))
    return entries


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split("|") if part.strip()]


# -- temporary courses ----------------------------------------------------------------------------

@dataclass
class TmpCourse:
    """A course in a temporary folder: pyproject.toml, diagrams/ and chapters/."""

    root: Path
    runner: CliRunner = field(default_factory=CliRunner)

    def write(self, relative: str, content: str | bytes, dedent: bool = True) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            text = textwrap.dedent(content).lstrip("\n") if dedent else content
            path.write_bytes(text.encode("utf-8"))
        return path

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, ["-C", str(self.root), *args], catch_exceptions=False)

    def migrate(self, *args: str) -> Result:
        return self.run("migrate", *args)

    def build(self) -> Result:
        return self.run("build", "-j", "2")

    def snapshot(self) -> dict[str, bytes]:
        """Return every file of the course except build outputs, by relative path."""
        return {
            path.relative_to(self.root).as_posix(): path.read_bytes()
            for path in sorted(self.root.rglob("*"))
            if path.is_file() and "build" not in path.relative_to(self.root).parts[:1]
        }

    def svg(self, name: str) -> SvgFacts:
        return svg_facts(self.root / "build" / "diagrams" / f"{name}.svg")


def make_course(root: Path, settings: str = "") -> TmpCourse:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f"[tool.course-assets]\n{settings}", encoding="utf-8")
    (root / "diagrams").mkdir(exist_ok=True)
    (root / "chapters").mkdir(exist_ok=True)
    return TmpCourse(root)


# -- reading built SVG ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SvgFacts:
    """What a test can check in a Graphviz SVG: texts with positions, edges and colours."""

    # (text, x, y, kind): kind is the class of the enclosing group (node, edge, cluster) or
    # "graph" for the figure's own title; y grows downwards.
    texts: tuple[tuple[str, float, float, str], ...]
    edges: int
    edge_strokes: tuple[tuple[str, str], ...]  # (stroke, stroke-width) of each edge path
    colours: frozenset[str]

    def text_set(self) -> set[str]:
        return {text for text, _, _, _ in self.texts}

    def node_position(self, label: str) -> tuple[float, float]:
        """Return where the node showing `label` (or one line of it) is drawn."""
        for text, x, y, kind in self.texts:
            if text == label and kind == "node":
                return x, y
        raise AssertionError(f"no node text {label!r} in {sorted(self.text_set())}")


def svg_facts(path: Path) -> SvgFacts:
    root = ET.fromstring(path.read_bytes())
    texts: list[tuple[str, float, float, str]] = []

    def walk(element: ET.Element, kind: str) -> None:
        if element.tag == f"{SVG}g":
            classes = element.get("class", "").split()
            for name in ("node", "edge", "cluster"):
                if name in classes:
                    kind = name
        if element.tag == f"{SVG}text":
            text = " ".join("".join(element.itertext()).split())
            texts.append((text, float(element.get("x", "0")), float(element.get("y", "0")),
                          kind))
        for child in element:
            walk(child, kind)

    walk(root, "graph")
    edges = [group for group in root.iter(f"{SVG}g") if "edge" in group.get("class", "").split()]
    strokes = []
    for group in edges:
        for shape in group.iter(f"{SVG}path"):
            strokes.append((shape.get("stroke", ""), shape.get("stroke-width", "1")))
    colours = set()
    for element in root.iter():
        for name in ("fill", "stroke"):
            value = element.get(name)
            if value:
                colours.add(value.lower())
    return SvgFacts(tuple(texts), len(edges), tuple(strokes), frozenset(colours))
