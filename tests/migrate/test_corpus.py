"""The corpus: every Mermaid flowchart and DOT graph converts, builds, and keeps what it drew.

Each corpus file states, in its own comments, the texts its figure must show, how many edges it
has, which colours it uses and which way it runs. The checks parse the SVG the real
`course-assets build` writes; nothing is compared with a stored copy of the output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from migrate.migratetools import (
    CorpusEntry,
    TmpCourse,
    corpus,
    kroki_url,
    make_course,
    mermaid_ink_url,
)

from course_assets.migrate import convert
from course_assets.migrate.model import display_lines

CORPUS = corpus()
MERMAID = [entry for entry in CORPUS if entry.language == "mermaid"]
DOT = [entry for entry in CORPUS if entry.language == "graphviz"]


def test_the_corpus_is_big_enough() -> None:
    assert len(MERMAID) >= 25 and len(DOT) >= 10


@pytest.mark.parametrize("entry", CORPUS, ids=lambda entry: entry.name)
def test_each_corpus_source_converts_to_the_same_graph(entry: CorpusEntry) -> None:
    graph = convert(entry.language, entry.source)
    shown = {line for node in graph.nodes for line in display_lines(node.label)}
    shown |= {line for edge in graph.edges for line in display_lines(edge.label)}
    shown |= {line for cluster in graph.clusters for line in display_lines(cluster.label)}
    shown |= set(display_lines(graph.title or ""))
    assert set(entry.labels) <= shown
    if not entry.source.lstrip().startswith("strict") and "strict digraph" not in entry.source:
        assert len(graph.edges) == entry.edges


def _block(index: int, entry: CorpusEntry) -> str:
    """Put a corpus source in the chapter the way courses embed diagrams, varying the way."""
    alt = f"Corpus {entry.name}"
    source = entry.source
    if entry.language == "graphviz":
        if index % 2:
            return f'<div align="center">\n    <img src="{kroki_url("dot", source)}" />\n</div>'
        return f"![{alt}]({kroki_url('graphviz', source, 'png')})"
    way = index % 5
    if way == 0:
        return f"```mermaid\n{source.rstrip()}\n```"
    if way == 1:
        return f"![{alt}]({kroki_url('mermaid', source)})"
    if way == 2:
        return f'<p align="center"><img src="{mermaid_ink_url(source, "plain")}" alt="{alt}"></p>'
    if way == 3:
        return f"Some text, then ![{alt}]({mermaid_ink_url(source, 'pako')})"
    url = mermaid_ink_url(source, "json", urlsafe=True, padded=False, kind="svg")
    return f'<div>\n<img alt="{alt}"\n     src="{url}">\n</div>'


@pytest.fixture(scope="module")
def migrated_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[TmpCourse, dict[str, str]]:
    """Migrate a chapter holding the whole corpus and build it once; return slugs by entry."""
    # PNG and dark variants add nothing to these checks; one SVG per figure keeps it fast.
    course = make_course(tmp_path_factory.mktemp("corpus") / "course", 'formats = ["svg"]\n')
    lines = ["# The corpus", ""]
    entry_at_line: dict[int, str] = {}
    for index, entry in enumerate(CORPUS):
        block = _block(index, entry).split("\n")
        for offset in range(len(block)):
            entry_at_line[len(lines) + 1 + offset] = entry.name
        lines += block
        lines += ["", "A paragraph between figures.", ""]
    chapter = course.write("chapters/corpus.md", "\n".join(lines), dedent=False)

    result = course.migrate("chapters", "--write")
    assert result.exit_code == 0, result.output
    slugs: dict[str, str] = {}
    for line in result.stdout.splitlines():
        if line.startswith("chapters/corpus.md:") and " converted " in line:
            number = int(line.split(":")[1])
            slugs[entry_at_line[number]] = line.split('diagram("')[1].split('")')[0]
    assert sorted(slugs) == sorted(entry.name for entry in CORPUS), result.stdout
    assert chapter.read_text(encoding="utf-8").count("{{ diagram(") == len(CORPUS)
    assert "A paragraph between figures." in chapter.read_text(encoding="utf-8")

    built = course.build()
    assert built.exit_code == 0, built.output
    return course, slugs


@pytest.mark.parametrize("entry", CORPUS, ids=lambda entry: entry.name)
def test_each_migrated_figure_builds_with_every_label_and_edge(
        migrated_corpus: tuple[TmpCourse, dict[str, str]], entry: CorpusEntry) -> None:
    course, slugs = migrated_corpus
    svg = course.svg(slugs[entry.name])
    missing = [label for label in entry.labels if label not in svg.text_set()]
    assert not missing, f"{entry.name}: {missing} not among {sorted(svg.text_set())}"
    assert svg.edges == entry.edges
    for colour in entry.colours:
        assert colour.lower() in svg.colours, f"{entry.name}: {colour}"
    for colour, width in entry.strokes:
        assert (colour, width) in svg.edge_strokes, f"{entry.name}: {colour} {width}"
    for first, relation, second in entry.order:
        (x1, y1), (x2, y2) = svg.node_position(first), svg.node_position(second)
        if relation == "above":
            assert y1 < y2, f"{entry.name}: {first} is not above {second}"
        else:
            assert x1 < x2, f"{entry.name}: {first} is not left of {second}"


def test_the_migrated_scripts_run_standalone_and_a_rerun_changes_nothing(
        migrated_corpus: tuple[TmpCourse, dict[str, str]]) -> None:
    course, slugs = migrated_corpus
    scripts = [course.root / "diagrams" / f"{slug}.py" for slug in slugs.values()]
    for script in scripts:
        text = script.read_text(encoding="utf-8")
        compile(text, str(script), "exec")
        assert text.startswith('"""TODO(migrate): improve this description.')
        assert text.count("with Diagram(") == 1 and "show=False" in text
    before = course.snapshot()
    again = course.migrate("chapters", "--write")
    assert again.exit_code == 0 and "0 new file(s)" in again.stdout
    assert course.snapshot() == before
    assert not any(Path(name).name.startswith("_") for name in before if name.endswith(".py"))
