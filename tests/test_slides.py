"""Slide decks and the figure gallery: what they hold, and that they are outputs like any other."""

from __future__ import annotations

import json
import posixpath
import re
from html import unescape
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

from slidetools import built_repo_course

CHAPTER = """\
# Pipelines

Why pipelines matter.

{{ diagram("flow") }}

## Tracking

Track every run. See [the tools](other.md#tools) and [MLflow](https://mlflow.org).

{{ diagram("flow") }}

## Setext heading
---------------

A paragraph.

***

After a rule.

## Last

- one
- two
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return built_repo_course(tmp_path_factory)


def front_matter(text: str) -> dict[str, str]:
    assert text.startswith("---\n"), text[:40]
    block = text[4:text.index("\n---\n")]
    entries = {}
    for line in block.splitlines():
        if line and not line.startswith(" "):
            key, _, value = line.partition(":")
            entries[key.strip()] = value.strip()
    return entries


def marp_slides(text: str) -> list[str]:
    body = text[text.index("\n---\n", 4) + 5:]
    return [s.strip() for s in re.split(r"\n---\n", body)]


def image_targets(markdown: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)", markdown)


def test_marp_deck_is_valid_marp_markdown(built):
    deck = built / "build/slides/chapter-1.marp.md"
    text = deck.read_text()
    settings = front_matter(text)
    assert settings["marp"] == "true"
    assert json.loads(settings["title"]) == (
        "Chapter 1: Introduction to Machine Learning in Production")
    slides = marp_slides(text)
    chapter = (built / "chapters/chapter-1.md").read_text()
    assert len(slides) == 1 + chapter.count("\n## ")  # the title, then one per section
    assert [s.splitlines()[0] for s in slides[1:]] == [
        "## Course Overview", "## What is MLOps?",
        "## The Three-Stage Process for Machine Learning Projects", "## Why MLOps?"]
    targets = image_targets(text)
    assert sorted(posixpath.basename(t) for t in targets) == [
        "mlops_benefits.svg", "mlops_workflow.svg", "three_stage_process.svg"]
    for target in targets:
        assert (deck.parent / target).resolve().is_file(), target
    assert "<div" not in text and "<img" not in text  # Marp shows no raw HTML by default


def test_marp_deck_sizes_figures_to_fit_the_slide(built):
    text = (built / "build/slides/chapter-1.marp.md").read_text()
    for width, height in re.findall(r"!\[w:(\d+)px h:(\d+)px ", text):
        assert 0 < int(width) <= 1120 and 0 < int(height) <= 470


def test_html_deck_is_self_contained(built):
    html = (built / "build/slides/chapter-1.html").read_text()
    assert html.count('<section class="slide') == 5
    for attribute, value in re.findall(r'\s(src|srcset|href)="([^"]*)"', html):
        if attribute != "href":
            assert value.startswith("data:image/"), value[:60]
    # Each figure is inlined in both themes; the deck's style sheet shows the reader's.
    assert html.count('class="deck-image deck-light"') == html.count('class="deck-image deck-dark"') == 3
    assert '<source media="(prefers-color-scheme' not in html
    assert "default-src 'none'" in unescape(html)  # the browser itself refuses any load
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_html_deck_inlines_each_figure_byte_for_byte(course):
    course.figure("intl", 'Node("日本語 é <b> & \\"q\\" #x 50%")',
                  doc="Accents é, CJK 日本語, #hash, 100% and <tags>.")
    course.chapter("ch", '## One\n\n{{ diagram("intl") }}\n')
    assert course.run("build", "-q").exit_code == 0
    html = course.built("slides/ch.html").read_text()
    sources = [unescape(v) for v in re.findall(r'<img src="([^"]*)"', html)]
    assert len(sources) == 2 and all(s.startswith("data:image/svg+xml,") for s in sources)
    for source, built in zip(sources, ("diagrams/intl.svg", "diagrams/intl.dark.svg")):
        assert unquote_to_bytes(source.split(",", 1)[1]) == course.built(built).read_bytes()


def test_a_figure_template_of_its_own_keeps_both_themes_in_the_deck(course):
    # Attributes in another order, an unclosed <source> and a class of the author's: still a
    # <picture> with a dark source, so the deck shows each theme's image under the theme key.
    course.write("templates/figure.md.j2", """
        <picture class="fig">
          <source srcset="{{ dark_src }}" media="(prefers-color-scheme: dark)">
          <img class="wide" alt="{{ alt }}" src="{{ src }}">
        </picture>
        """)
    course.figure("intl", 'Node("one")')
    course.chapter("ch", '## One\n\n{{ diagram("intl") }}\n')
    assert course.run("build", "-q").exit_code == 0
    html = course.built("slides/ch.html").read_text()
    found = {}
    for tag in re.findall(r"<img\s[^>]*>", html):
        theme = re.search(r'\sclass="deck-image deck-(light|dark) wide"', tag)
        if theme:
            found[theme.group(1)] = unescape(re.search(r'\ssrc="([^"]*)"', tag).group(1))
    assert set(found) == {"light", "dark"}
    for theme, built in (("light", "diagrams/intl.svg"), ("dark", "diagrams/intl.dark.svg")):
        data = unquote_to_bytes(found[theme].split(",", 1)[1])
        assert data == course.built(built).read_bytes()


def test_decks_follow_sections_rules_and_links(course):
    course.figure("flow")
    course.chapter("part/deck", CHAPTER)
    result = course.run("build", "-q")
    assert result.exit_code == 0, result.output
    marp = course.built("slides/part/deck.marp.md").read_text()
    slides = marp_slides(marp)
    assert len(slides) == 4
    assert slides[0].startswith("<!-- _class: lead -->\n\n# Pipelines")
    assert slides[2].startswith("## Setext heading")  # a setext heading is written ATX-style
    assert "After a rule." in slides[2]  # a rule inside a section is no slide break
    # Links point where they pointed from the chapter; external ones stay.
    assert "[the tools](../../chapters/part/other.md#tools)" in slides[1]
    assert "[MLflow](https://mlflow.org)" in slides[1]
    for target in image_targets(marp):
        assert (course.built("slides/part") / target).resolve().is_file()

    html = course.built("slides/part/deck.html").read_text()
    assert html.count('<section class="slide') == 4
    assert 'href="../../chapters/part/other.md#tools"' in html
    assert html.count('class="deck-figure"') == 2


def test_marp_alt_text_never_reads_as_marp_options(course):
    course.figure("flow", doc="Use sepia tones at 50% with bg and w:3 [boxed].")
    course.chapter("ch", '## One\n\n{{ diagram("flow") }}\n')
    assert course.run("build", "-q").exit_code == 0
    marp = course.built("slides/ch.marp.md").read_text()
    image = re.search(r"!\[([^\]]*)\]\(", marp).group(1)
    words = image.split()
    assert re.fullmatch(r"w:\d+px", words[0]) and re.fullmatch(r"h:\d+px", words[1])
    for word in words[2:]:
        assert not re.fullmatch(r"sepia|(\d*\.)?\d+%|bg|w:.*", word), word
    assert image.replace("\u2060", "").endswith("Use sepia tones at 50% with bg and w:3 boxed.")


def test_gallery_lists_every_figure_with_its_files_and_chapters(built):
    gallery = (built / "build/diagrams/README.md").read_text()
    for name, title in (("mlops_benefits", "Why MLOps?"),
                        ("mlops_workflow", "The MLOps workflow"),
                        ("three_stage_process", "The three-stage process of ML projects")):
        assert f"## {title}" in gallery
        for suffix in (".svg", ".png", ".dark.svg", ".dark.png"):
            assert f"]({name}{suffix})" in gallery
        assert f'<img src="{name}.svg"' in gallery
        assert f'srcset="{name}.dark.svg"' in gallery
        assert f"[`diagrams/{name}.py`](../../diagrams/{name}.py)" in gallery
    assert gallery.count("[chapter-1](../chapters/chapter-1.md)") == 6  # table and entries
    for target in re.findall(r"\]\(([^)#]+)\)", gallery):
        assert (built / "build/diagrams" / target).resolve().exists(), target


def test_gallery_and_decks_are_in_the_manifest(built):
    manifest = json.loads((built / "build/manifest.json").read_text())
    assert set(manifest["gallery"]["outputs"]) == {"build/diagrams/README.md"}
    assert set(manifest["slides"]["chapter-1"]["outputs"]) == {
        "build/slides/chapter-1.html", "build/slides/chapter-1.marp.md",
        "build/slides/chapter-1.pptx", "build/slides/chapter-1.dark.pptx"}


def test_decks_rebuild_only_when_their_chapter_changes(course):
    course.figure("flow")
    course.figure("other")
    course.chapter("a", '## A\n\n{{ diagram("flow") }}\n')
    course.chapter("b", "## B\n\nText.\n")
    assert course.run("build", "-q").exit_code == 0
    assert course.run("check").exit_code == 0
    again = course.run("build")
    assert not re.search(r"^built ", again.output, re.MULTILINE), again.output
    before = {p: p.stat().st_mtime_ns for p in course.built("slides").iterdir()}
    gallery = course.built("diagrams/README.md").stat().st_mtime_ns

    course.chapter("b", "## B\n\nOther text.\n")
    result = course.run("build")
    assert result.exit_code == 0
    assert "built slides b" in result.output and "built slides a" not in result.output
    assert "built gallery" not in result.output
    after = {p: p.stat().st_mtime_ns for p in course.built("slides").iterdir()}
    assert after[course.built("slides/a.html")] == before[course.built("slides/a.html")]
    assert after[course.built("slides/b.html")] != before[course.built("slides/b.html")]
    assert course.built("diagrams/README.md").stat().st_mtime_ns == gallery

    course.figure("flow", 'Mlflow("renamed") >> Airflow("pipeline")')
    result = course.run("build")
    assert "built slides a" in result.output and "built slides b" not in result.output
    assert course.run("check").exit_code == 0


def test_check_and_build_guard_the_decks_and_gallery(course):
    course.figure("flow")
    course.chapter("a", '## A\n\n{{ diagram("flow") }}\n')
    assert course.run("build", "-q").exit_code == 0
    deck = course.built("slides/a.html")
    deck.write_text(deck.read_text() + "<!-- edited -->")
    result = course.run("check")
    assert result.exit_code == 3 and "build/slides/a.html: edited by hand" in result.output
    result = course.run("build")
    assert result.exit_code == 1 and "build/slides/a.html: was changed by hand" in result.output
    assert course.run("build", "-q", "--force").exit_code == 0
    assert "<!-- edited -->" not in deck.read_text()

    course.built("diagrams/README.md").unlink()
    result = course.run("check")
    assert result.exit_code == 3 and "build/diagrams/README.md: missing" in result.output
    assert course.run("build", "-q").exit_code == 0
    assert course.run("check").exit_code == 0


def test_a_deleted_chapter_takes_its_decks_with_it(course):
    course.figure("flow")
    course.chapter("a", "## A\n\nText.\n")
    course.chapter("b", "## B\n\nText.\n")
    assert course.run("build", "-q").exit_code == 0
    (course.root / "chapters/b.md").unlink()
    result = course.run("check")
    assert result.exit_code == 3 and "build/slides/b.html: orphaned" in result.output
    assert course.run("build", "-q").exit_code == 0
    assert sorted(p.name for p in course.built("slides").iterdir()) == [
        "a.dark.pptx", "a.html", "a.marp.md", "a.pptx"]
    assert course.run("check").exit_code == 0


def test_slides_command_builds_and_names_the_decks(course):
    course.figure("flow")
    course.chapter("a", '# A\n\n## One\n\n{{ diagram("flow") }}\n')
    result = course.run("slides")
    assert result.exit_code == 0, result.output
    assert ("a: build/slides/a.html, build/slides/a.marp.md, build/slides/a.pptx, "
            "build/slides/a.dark.pptx") in result.output
    assert course.built("slides/a.html").is_file()
    assert course.run("check").exit_code == 0


def outline_bodies(seed: int, count: int) -> list[list[str]]:
    """Return outline sections as the HTML deck reads them: headings, nested items, labels."""
    import random

    rng = random.Random(seed)
    # Mostly plain words, sometimes a character Markdown gives a meaning, a digit first, an
    # odd space: each outline either stays plain or leaves the plain path.
    pieces = ["redis", "kafka 0", "Postgres", "→", "pod", "x = 1", '"quoted"', "it's", "(a)",
              "é", "3", "1.", "-", "+", "*b*", "_c_", "`d`", "[e]", "<f>", "a & b", "#g", "h|i",
              "~~j~~", "!k", "\\l", "  ", " ", "\t", "\x00", "a:b", "http://m.n", "50%", "ü"]
    bodies = []
    for _ in range(count):
        body, depth = [], 0
        for _ in range(rng.randint(0, 14)):
            roll = rng.random()
            words = " ".join(rng.choice(pieces) if rng.random() < 0.3 else rng.choice(pieces[:8])
                             for _ in range(rng.randint(1, 3)))
            if roll < 0.12:
                body.append(f"## {words}")
                depth = 0
                continue
            depth = max(0, min(depth + rng.choice([-1, 0, 0, 1, 1, 2]), 4))
            if roll < 0.3:
                body.append(f"{'  ' * depth}- **{words}** (group)")
            else:
                body.append(f"{'  ' * depth}- {words}")
        bodies.append(body)
    return bodies


def test_an_outline_in_the_html_deck_reads_as_the_markdown_parser_reads_it():
    # The HTML deck renders a plain outline itself: it must be the parser's HTML, byte for byte.
    from course_assets.publish import markdown
    from course_assets.publish.deck_figures import _plain_outline_html

    plain = 0
    for body in outline_bodies(seed=7, count=6000):
        rendered = _plain_outline_html(body)
        if rendered is None:
            continue
        plain += 1
        text = "\n".join(f"\n**{line[3:]}**\n" if line.startswith("## ") else line
                         for line in body)
        assert rendered == markdown.render(markdown.parse(text)), body
    assert plain > 500  # the outlines the build writes take the plain path
