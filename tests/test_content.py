"""Any text an author may write (accents, CJK, emoji, XML specials, long lines) survives intact."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from course_assets.publish.chapters import ChapterRenderer, FigureRef
from course_assets.render.figure import FigureTask, render_figure

from svgtools import SVG, texts

# Printable text of every script. Left out, as they are Graphviz syntax rather than text:
# backslashes (its escapes \n, \l, \N), text wrapped whole in <...> (an HTML-like label), and
# character references like &amp; (Graphviz decodes them), and control characters (XML 1.0
# cannot carry them).
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\\"),
    min_size=1, max_size=300,
).filter(lambda s: s.strip())
SAMPLES = st.sampled_from(["é", "日本語", "🚀 emoji", "1 < 2 & 3 > 0", 'say "hi"', "x" * 2000,
                          "</text><script>alert(1)</script> x", "a ]]> b && c;"])
LABEL = st.one_of(TEXT, SAMPLES).filter(
    lambda s: not (s.startswith("<") and s.endswith(">")) and not re.search(r"&#?\w+;", s))


def tidy(text: str) -> str:
    return " ".join(text.split())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=LABEL, title=LABEL, description=LABEL)
def test_labels_titles_and_descriptions_render_escaped_and_valid(tmp_path: Path, label, title,
                                                                description):
    script = tmp_path / "diagrams" / "fig.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        f"{description!r}\n"
        "from diagrams import Diagram, Node\n"
        "from diagrams.onprem.mlops import Mlflow\n"
        f"with Diagram({title!r}, show=False):\n"
        f"    Mlflow({label!r}) >> Node({label!r})\n",
        encoding="utf-8",
    )
    outcome = render_figure(FigureTask("fig", script, tmp_path, 0.1, 60))
    assert outcome.problem is None, outcome.problem
    root = ET.fromstring(outcome.files["fig.svg"])  # valid XML, whatever the text
    assert root.find(f"{SVG}title").text == title
    assert root.find(f"{SVG}desc").text == tidy(description)
    drawn = tidy(" ".join(texts(root)))
    for line in label.splitlines():
        assert tidy(line) in drawn
    for element in root.iter():
        assert element.tag.split("}")[-1] not in ("script", "foreignObject")

    chapter = tmp_path / "chapters" / "ch.md"
    chapter.parent.mkdir(exist_ok=True)
    chapter.write_text('# Chapter\n\n{{ diagram("fig") }}\n', encoding="utf-8")
    figures = {"fig": FigureRef("fig", tmp_path / "build/diagrams/fig.svg", title,
                                tidy(description))}
    rendered = ChapterRenderer(figures, tmp_path / "templates").render(
        chapter, tmp_path / "build/chapters/ch.md")
    assert rendered.problem is None
    images = _images(rendered.text)
    assert images == [("../diagrams/fig.svg", tidy(description))]


def _images(markdown: str) -> list[tuple[str, str]]:
    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                values = dict(attrs)
                found.append((values["src"], values["alt"]))

        handle_startendtag = handle_starttag

    Collector(convert_charrefs=True).feed(markdown)
    return found
