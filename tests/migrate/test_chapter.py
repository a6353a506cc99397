"""Finding images in chapter sources, and replacing them without touching anything else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from course_assets.migrate.surroundings import chapter_headings
from course_assets.migrate.chapter import (
    decode_chapter,
    find_images,
    replace_spans,
    split_lines,
)

URL = "https://kroki.io/mermaid/svg/eNpLL0osyFAIceJSUHCK"


def spans(text: str) -> list[str | None]:
    return [text[image.span[0]:image.span[1]] if image.span else None
            for image in find_images(text)]


def test_markdown_image_alone_in_its_paragraph() -> None:
    text = f"Intro.\n\n![The pipeline]({URL})\n\nOutro.\n"
    [image] = find_images(text)
    assert (image.kind, image.line, image.url, image.alt) == ("markdown", 3, URL,
                                                             "The pipeline")
    assert spans(text) == [f"![The pipeline]({URL})"]


def test_markdown_image_inside_text_with_a_title() -> None:
    text = f'See ![a *b*]({URL} "Title") here and\n![two](<{URL}>) there.\n'
    assert [(i.alt, i.line) for i in find_images(text)] == [("a b", 1), ("two", 2)]
    assert spans(text) == [f'![a *b*]({URL} "Title")', f"![two](<{URL}>)"]


def test_reference_images_and_linked_images() -> None:
    text = (f"![ref image][fig] and ![fig] and [![linked]({URL})](https://kroki.io/edit)\n\n"
            f"[fig]: {URL}\n")
    assert spans(text) == ["![ref image][fig]", "![fig]",
                           f"[![linked]({URL})](https://kroki.io/edit)"]


def test_code_never_holds_images() -> None:
    text = (f"`![not]({URL})` but ![yes]({URL})\n\n    ![indented code]({URL})\n\n"
            f"```md\n![fenced]({URL})\n```\n")
    assert spans(text) == [f"![yes]({URL})"]


def test_html_image_wrapped_in_a_div_replaces_the_whole_block() -> None:
    block = f'<div align="center">\n    <img src="{URL}" alt="Alt" />\n</div>'
    text = f"Before.\n\n{block}\n\nAfter.\n"
    [image] = find_images(text)
    assert (image.kind, image.line, image.url, image.alt) == ("html", 4, URL, "Alt")
    assert spans(text) == [block]


def test_paragraph_wrapper_and_a_link_around_the_image() -> None:
    block = f'<p align="center"><a href="https://x.example"><img src="{URL}"></a></p>'
    assert spans(f"{block}\n") == [block]


def test_html_block_with_other_content_replaces_only_the_tag() -> None:
    text = (f'<figure>\n<img src="{URL}">\n<figcaption>Caption</figcaption>\n</figure>\n\n'
            f'<div><img src="{URL}"> <img src="{URL}#2"></div>\n')
    assert spans(text) == [f'<img src="{URL}">', f'<img src="{URL}">', f'<img src="{URL}#2">']


def test_inline_html_image_in_a_sentence() -> None:
    text = f'Look: <img src="{URL}" alt="x"> and `<img src="nope">`.\n'
    [image] = find_images(text)
    assert image.kind == "html" and spans(text) == [f'<img src="{URL}" alt="x">']


def test_mermaid_fences_at_top_level_and_in_containers() -> None:
    text = ("```mermaid\ngraph LR\n  A --> B\n```\n\n> ```mermaid\n> graph TD\n> X --> Y\n> ```\n"
            "\n~~~ mermaid\ngraph LR\n~~~\n\n```python\nprint()\n```\n")
    found = find_images(text)
    assert [(i.kind, i.line, i.source) for i in found] == [
        ("fence", 1, "graph LR\n  A --> B\n"), ("fence", 6, "graph TD\nX --> Y\n"),
        ("fence", 11, "graph LR\n")]
    assert spans(text) == ["```mermaid\ngraph LR\n  A --> B\n```",
                           "```mermaid\n> graph TD\n> X --> Y\n> ```", "~~~ mermaid\ngraph LR\n~~~"]


def test_images_in_lists_quotes_headings_and_tables() -> None:
    text = (f"- item ![in list]({URL})\n\n> ![in quote]({URL})\n\n# ![in heading]({URL})\n\n"
            f"| a |\n| - |\n| ![in table]({URL}) |\n")
    assert [image.alt for image in find_images(text)] == ["in list", "in quote", "in heading",
                                                          "in table"]
    assert all(span is not None for span in spans(text))


def test_line_numbers_count_every_kind_of_newline() -> None:
    text = f"a\r\nb\rc\n\n![x]({URL})\r\n"
    [image] = find_images(text)
    assert image.line == 5
    assert text[image.span[0]:image.span[1]] == f"![x]({URL})"


def test_a_byte_order_mark_is_kept() -> None:
    chapter = decode_chapter(b"\xef\xbb\xbf# Title\n")
    assert chapter.text == "# Title\n" and chapter.encode("# New\n") == b"\xef\xbb\xbf# New\n"


@settings(max_examples=100, deadline=None)
@given(before=st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                             blacklist_characters="![]()<>`\\~|*_&"),
                      max_size=200),
       after=st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                            blacklist_characters="![]()<>`\\~|*_&"),
                     max_size=200),
       newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_replacing_an_image_leaves_every_other_character(before: str, after: str,
                                                         newline: str) -> None:
    text = f"{before}{newline}{newline}![fig]({URL}){newline}{newline}{after}"
    images = [image for image in find_images(text) if image.url == URL]
    assert len(images) == 1 and images[0].span is not None
    start, end = images[0].span
    new = replace_spans(text, [(start, end, '{{ diagram("fig") }}')])
    assert new == f'{before}{newline}{newline}{{{{ diagram("fig") }}}}{newline}{newline}{after}'


def test_split_lines_keeps_endings() -> None:
    assert split_lines("a\r\nb\rc\nd") == ["a\r\n", "b\r", "c\n", "d"]
    assert "".join(split_lines("x\u2028y\x0cz\n")) == "x\u2028y\x0cz\n"
    assert len(split_lines("x\u2028y\x0cz\n")) == 1


def test_the_heading_above_a_figure_is_read_as_every_other_reader_reads_the_chapter() -> None:
    # A one-column table is a table to the chapter parser the previews and decks use (tables on),
    # not a setext heading "| Stage |": migrate names the figure after "Setup", as they show it.
    text = f"# Setup\n\n| Stage |\n---\n| train |\n\n![x]({URL})\n"
    [image] = find_images(text)
    assert chapter_headings(text).above(image.line) == "Setup"
