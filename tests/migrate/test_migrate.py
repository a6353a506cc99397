"""`course-assets migrate` end to end: the seed chapter, dry runs, writes, reruns, and failures."""

from __future__ import annotations

import base64
import re
import zlib
from pathlib import Path

import pytest
from migrate.migratetools import (
    SEED_COPY,
    SHARED_SEED,
    TmpCourse,
    kroki_url,
    mermaid_ink_url,
    plantuml_url,
)

from course_assets.config import load_settings
from course_assets.migrate import MigratePathError, Outcome, migrate

SHOWME = "https://showme.redstarplugin.com/s/68KNMkBW"
KROKI_BLOCK = re.compile(
    rb'<div align="center">\n    <img src="https://kroki\.io/[^"]*" />\n</div>')
FLOW = "graph LR\n  A[Extract] --> B[Load]\n"


# -- the seed chapter ------------------------------------------------------------------------------

def test_the_seed_copy_is_byte_identical_to_the_shared_seed() -> None:
    if not SHARED_SEED.is_file():
        pytest.skip(f"{SHARED_SEED} is not on this machine; the copy stands in for it")
    assert SEED_COPY.read_bytes() == SHARED_SEED.read_bytes()


def test_seed_chapter_dry_run_reports_both_images_and_writes_nothing(tmp_course: TmpCourse
                                                                     ) -> None:
    tmp_course.write("chapters/chapter-1.md", SEED_COPY.read_bytes())
    before = tmp_course.snapshot()
    result = tmp_course.migrate("chapters")
    assert result.exit_code == 0, result.output
    assert tmp_course.snapshot() == before
    out = result.stdout
    assert (f"chapters/chapter-1.md:15: warning: {SHOWME} is an external image with no diagram "
            "source in its link; redraw it by hand") in out
    assert ("chapters/chapter-1.md:30: would convert Kroki mermaid image to diagrams/why_mlops.py "
            '({{ diagram("why_mlops") }})') in out
    assert "--- a/chapters/chapter-1.md\n+++ b/chapters/chapter-1.md\n" in out
    assert '+{{ diagram("why_mlops") }}\n' in out and '-<div align="center">\n' in out
    assert "Dry run: nothing was written" in out


def test_seed_chapter_migrates_builds_and_reruns_as_a_no_op(tmp_course: TmpCourse) -> None:
    original = SEED_COPY.read_bytes()
    chapter = tmp_course.write("chapters/chapter-1.md", original)

    result = tmp_course.migrate("chapters/chapter-1.md", "--write")
    assert result.exit_code == 0, result.output
    assert "chapters/chapter-1.md:30: converted Kroki mermaid image to diagrams/why_mlops.py" \
        in result.stdout
    assert f"chapters/chapter-1.md:15: warning: {SHOWME}" in result.stdout

    # Only the kroki block changed; the showme image and every other byte are as they were.
    [block] = KROKI_BLOCK.findall(original)
    assert chapter.read_bytes() == original.replace(block, b'{{ diagram("why_mlops") }}')
    script = (tmp_course.root / "diagrams" / "why_mlops.py").read_text(encoding="utf-8")
    assert script.startswith('"""TODO(migrate): improve this description.')

    # A second run changes nothing, and still lists what to redraw by hand.
    after = tmp_course.snapshot()
    again = tmp_course.migrate("chapters", "--write")
    assert again.exit_code == 0, again.output
    assert tmp_course.snapshot() == after
    assert SHOWME in again.stdout and "converted" not in again.stdout.split("image(s)")[0]

    # The migrated figure builds with no further edits, and draws what the Mermaid drew.
    built = tmp_course.build()
    assert built.exit_code == 0, built.output
    svg = tmp_course.svg("why_mlops")
    labels = ["MLOps", "Collaboration", "Automation", "Model Performance"]
    assert set(labels) <= svg.text_set()
    assert svg.edges == 3
    assert svg.edge_strokes and all(stroke == ("#2ecd71", "2") for stroke in svg.edge_strokes)
    top = svg.node_position("MLOps")[1]
    assert all(top < svg.node_position(label)[1] for label in labels[1:])  # top to bottom
    rendered = (tmp_course.root / "build" / "chapters" / "chapter-1.md").read_text("utf-8")
    assert "../diagrams/why_mlops.svg" in rendered and SHOWME in rendered


# -- malformed payloads ----------------------------------------------------------------------------

def _kroki_payload(data: bytes) -> str:
    return "https://kroki.io/mermaid/svg/" + base64.urlsafe_b64encode(data).decode()


MALFORMED = {
    "truncated": kroki_url("mermaid", FLOW * 10)[:-30],
    "not base64": "https://kroki.io/mermaid/svg/eNp*not*base64*at*all",
    "not deflate": _kroki_payload(b"plain text, never compressed"),
    "not UTF-8": _kroki_payload(zlib.compress(b"graph LR\n  A[\xff\xfe] --> B\n")),
    "zip bomb": _kroki_payload(zlib.compress(b"A" * (8 << 20), 9)),
}


def test_malformed_payloads_are_reported_per_image_and_leave_the_chapter_unchanged(
        tmp_course: TmpCourse) -> None:
    lines = ["# Chapter", "", f"![good]({kroki_url('mermaid', FLOW)})", ""]
    where = {}
    for name, url in MALFORMED.items():
        where[name] = len(lines) + 1
        lines += [f"![{name}]({url})", ""]
    chapter = tmp_course.write("chapters/broken.md", "\n".join(lines) + "\n", dedent=False)
    fine = tmp_course.write("chapters/fine.md", f"![fine]({kroki_url('mermaid', FLOW)})\n")
    original = chapter.read_bytes()

    result = tmp_course.migrate("chapters", "--write")
    assert result.exit_code == 1
    assert chapter.read_bytes() == original
    errors = result.stderr
    expected = {"truncated": "truncated", "not base64": "not base64",
                "not deflate": "not deflate-compressed", "not UTF-8": "not UTF-8",
                "zip bomb": "inflates past"}
    for name, fragment in expected.items():
        assert re.search(rf"^chapters/broken\.md:{where[name]}: malformed Kroki mermaid image "
                         rf"link \(.*\): .*{re.escape(fragment)}", errors, re.MULTILINE), name
    assert "chapters/broken.md:3: Kroki mermaid image: not migrated" in result.stdout
    # Nothing was written for the broken chapter; the other chapter migrated as usual.
    assert sorted(p.name for p in (tmp_course.root / "diagrams").iterdir()) == ["fine.py"]
    assert fine.read_text(encoding="utf-8") == '{{ diagram("fine") }}\n'


# -- what cannot be converted ----------------------------------------------------------------------

SEQUENCE = "sequenceDiagram\n  Alice->>Bob: Hello\n"
GANTT = "gantt\n  title Plan\n  section A\n  Task :a1, 2024-01-01, 3d\n"
PLANTUML = "@startuml\nAlice -> Bob: hi\n@enduml\n"
CLICKS = "graph LR\n  A --> B\n  click A href \"https://example.com\"\n"


def test_unconvertible_sources_are_saved_and_their_images_kept(tmp_course: TmpCourse) -> None:
    text = (f"![Login sequence]({kroki_url('mermaid', SEQUENCE)})\n\n"
            f"```mermaid\n{GANTT}```\n\n"
            f'<img src="{plantuml_url(PLANTUML)}" alt="Handshake">\n\n'
            f"![Clickable]({mermaid_ink_url(CLICKS, 'pako')})\n")
    chapter = tmp_course.write("chapters/ch.md", text, dedent=False)
    result = tmp_course.migrate("chapters", "--write")
    assert result.exit_code == 0, result.output
    assert chapter.read_text(encoding="utf-8") == text
    saved = tmp_course.root / "diagrams" / "_migrated"
    assert (saved / "login_sequence.mmd").read_text(encoding="utf-8") == SEQUENCE
    assert (saved / "ch_mermaid.mmd").read_text(encoding="utf-8") == GANTT
    assert (saved / "handshake.puml").read_text(encoding="utf-8") == PLANTUML
    assert (saved / "clickable.mmd").read_text(encoding="utf-8") == CLICKS
    out = result.stdout
    assert ("chapters/ch.md:1: warning: cannot convert this Kroki mermaid image: Mermaid "
            "sequence diagrams have no diagrams equivalent; saved its mermaid source as "
            "diagrams/_migrated/login_sequence.mmd; the image stays as it is") in out
    assert "chapters/ch.md:3: warning: cannot convert this Mermaid block: Mermaid Gantt" in out
    assert "chapters/ch.md:10: warning: cannot convert this PlantUML image: PlantUML diagrams" \
        in out
    assert "click actions" in out
    # Saved sources are not figures: the build ignores diagrams/_migrated/.
    before = tmp_course.snapshot()
    assert tmp_course.migrate("chapters", "--write").exit_code == 0
    assert tmp_course.snapshot() == before


# -- names -----------------------------------------------------------------------------------------

def test_existing_scripts_are_never_overwritten(tmp_course: TmpCourse) -> None:
    mine = tmp_course.write("diagrams/extract.py", '"""Mine."""\n')
    tmp_course.write("diagrams/extract_2", "a folder-like clash\n")
    chapter = tmp_course.write("chapters/ch.md", f"## Extract\n\n```mermaid\n{FLOW}```\n")
    result = tmp_course.migrate("chapters", "--write")
    assert result.exit_code == 0, result.output
    assert mine.read_text(encoding="utf-8") == '"""Mine."""\n'
    assert chapter.read_text(encoding="utf-8") == '## Extract\n\n{{ diagram("extract_3") }}\n'
    assert (tmp_course.root / "diagrams" / "extract_3.py").is_file()


def test_slugs_come_from_alt_text_and_avoid_module_names(tmp_course: TmpCourse) -> None:
    text = (f"![Training & Serving: the 2 halves]({kroki_url('mermaid', FLOW)})\n\n"
            f"![graphviz]({kroki_url('graphviz', 'digraph { a -> b }')})\n\n"
            f"![Données]({kroki_url('graphviz', 'digraph { x -> b }')})\n")
    chapter = tmp_course.write("chapters/ch.md", text, dedent=False)
    assert tmp_course.migrate("chapters", "--write").exit_code == 0
    assert chapter.read_text(encoding="utf-8") == (
        '{{ diagram("training_serving_the_2_halves") }}\n\n'
        '{{ diagram("graphviz_2") }}\n\n'  # diagrams/graphviz.py would shadow the graphviz library
        '{{ diagram("donnees") }}\n')


def test_the_same_diagram_twice_shares_one_script(tmp_course: TmpCourse) -> None:
    url = kroki_url("mermaid", FLOW)
    tmp_course.write("chapters/a.md", f"![Flow]({url})\n\nText.\n\n![Flow]({url})\n")
    result = tmp_course.migrate("chapters", "--write")
    assert result.exit_code == 0
    assert (tmp_course.root / "chapters" / "a.md").read_text(encoding="utf-8") == \
        '{{ diagram("flow") }}\n\nText.\n\n{{ diagram("flow") }}\n'
    assert [p.name for p in (tmp_course.root / "diagrams").iterdir()] == ["flow.py"]


# -- bytes, encodings and odd inputs ---------------------------------------------------------------

def test_bom_and_line_endings_are_kept(tmp_course: TmpCourse) -> None:
    url = mermaid_ink_url(FLOW, "json", urlsafe=True, padded=False)
    body = (f"# T\r\n\r\n<p align=\"center\">\r\n  <img src=\"{url}\">\r\n</p>\r\n\r\nEnd\r\n"
            "```mermaid\r\ngraph TD\r\n  X --> Y\r\n```\r\nno final newline")
    chapter = tmp_course.write("chapters/ch.md", b"\xef\xbb\xbf" + body.encode("utf-8"))
    assert tmp_course.migrate("chapters", "--write").exit_code == 0
    assert chapter.read_bytes() == b"\xef\xbb\xbf" + (
        '# T\r\n\r\n{{ diagram("t") }}\r\n\r\nEnd\r\n{{ diagram("t_2") }}\r\n'
        "no final newline").encode("utf-8")


def test_local_images_are_left_alone_and_not_reported(tmp_course: TmpCourse) -> None:
    text = "![Photo](images/photo.png)\n\n<img src=\"../img/a.svg\">\n"
    tmp_course.write("chapters/ch.md", text)
    result = tmp_course.migrate("chapters")
    assert result.exit_code == 0
    assert "0 image(s)" in result.stdout


def test_a_chapter_that_is_not_utf8_is_an_error(tmp_course: TmpCourse) -> None:
    tmp_course.write("chapters/latin1.md", "Caf\xe9\n".encode("latin-1"))
    result = tmp_course.migrate("chapters")
    assert result.exit_code == 1
    assert "chapters/latin1.md: not UTF-8 text" in result.stderr


def test_the_library_returns_a_report_and_writes_only_when_asked(tmp_course: TmpCourse) -> None:
    tmp_course.write("chapters/ch.md", f"![Flow]({kroki_url('mermaid', FLOW)})\n")
    settings = load_settings(tmp_course.root)
    report = migrate([settings.chapters_dir], settings)
    [image] = report.images
    assert (image.outcome, image.slug, image.line) == (Outcome.CONVERTED, "flow", 1)
    assert report.files == (settings.diagrams_dir / "flow.py",) and not report.written
    assert not (settings.diagrams_dir / "flow.py").exists()
    assert report.exit_code == 0 and report.chapters[0].changed
    written = migrate([settings.chapters_dir], settings, write=True)
    assert written.written and (settings.diagrams_dir / "flow.py").is_file()
    with pytest.raises(MigratePathError):
        migrate([tmp_course.root / "missing.md"], settings)


# -- the command line ------------------------------------------------------------------------------

def test_help_explains_the_command(tmp_course: TmpCourse) -> None:
    result = tmp_course.run("migrate", "--help")
    assert result.exit_code == 0
    for phrase in ("Kroki", "mermaid.ink", "PlantUML", "```mermaid", "--write", "dry run",
                   "diagrams/_migrated/", "Exit status"):
        assert phrase in result.output, phrase


@pytest.mark.parametrize("args", [(), ("chapters/missing.md",), ("diagrams",)])
def test_usage_errors_exit_2(tmp_course: TmpCourse, args: tuple[str, ...],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_course.root)
    result = tmp_course.migrate(*args)
    assert result.exit_code == 2, result.output


def test_outside_a_course_is_a_usage_error(tmp_path: Path) -> None:
    chapter = tmp_path / "loose.md"
    chapter.write_text("# Loose\n", encoding="utf-8")
    from click.testing import CliRunner

    from course_assets.cli import cli

    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "migrate", str(chapter)])
    assert result.exit_code == 2 and "no course found" in result.stderr


def test_figures_are_named_after_the_heading_above_them_not_their_first_node(
        tmp_course: TmpCourse) -> None:
    chapter = tmp_course.write("chapters/ch.md", f"# Chapter\n\n## How data flows\n\n"
                               f"Text.\n\n```mermaid\n{FLOW}```\n\n"
                               f"```mermaid\ngraph LR\n  Student --> Teacher\n```\n")
    assert tmp_course.migrate("chapters", "--write").exit_code == 0
    text = chapter.read_text(encoding="utf-8")
    assert '{{ diagram("how_data_flows") }}' in text and '{{ diagram("how_data_flows_2") }}' in text
    script = (tmp_course.root / "diagrams" / "how_data_flows.py").read_text(encoding="utf-8")
    assert '"How data flows"' in script
    assert not (tmp_course.root / "diagrams" / "student.py").exists()


def test_a_link_at_a_temporary_name_is_never_written_through(tmp_course: TmpCourse,
                                                             tmp_path: Path) -> None:
    # A cloned course may hold a link where a fixed temporary name would go: writing through it
    # would change a file outside the course, and renaming it would make the chapter that link.
    chapter = tmp_course.write("chapters/ch.md", f"![Flow]({kroki_url('mermaid', FLOW)})\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("kept\n")
    (chapter.parent / ".ch.md.migrate-tmp").symlink_to(outside)
    result = tmp_course.migrate("chapters", "--write")
    assert result.exit_code == 0, result.output
    assert outside.read_text() == "kept\n"
    assert not chapter.is_symlink() and chapter.read_text() == '{{ diagram("flow") }}\n'
    assert sorted(p.name for p in chapter.parent.iterdir()) == [".ch.md.migrate-tmp", "ch.md"]
