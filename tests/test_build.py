"""Building a whole course end to end, with real Graphviz and real files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, Course
from svgtools import SVG, assert_self_contained, parse, placed_icons, texts

SEED = REPO / "tests" / "data" / "seed-chapter-1.md"


def outputs(root: Path) -> dict[str, bytes]:
    build = root / "build"
    return {p.relative_to(build).as_posix(): p.read_bytes() for p in sorted(build.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(build).parts)}


def mtimes(root: Path) -> dict[str, int]:
    build = root / "build"
    return {p.relative_to(build).as_posix(): p.stat().st_mtime_ns for p in build.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def built_repo(tmp_path_factory) -> Path:
    """Build a copy of this repository's course once for the tests that only read it."""
    root = tmp_path_factory.mktemp("built") / "course"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root)
    shutil.copytree(REPO / "diagrams", root / "diagrams", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "chapters", root / "chapters")
    result = subprocess.run([sys.executable, "-m", "course_assets", "build"], cwd=root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return root


def test_every_figure_is_self_contained_accessible_and_safe(built_repo):
    svgs = sorted((built_repo / "build" / "diagrams").glob("*.svg"))
    names = {p.name for p in svgs}
    assert {"three_stage_process.svg", "mlops_benefits.svg", "mlops_workflow.svg"} <= names
    for svg in svgs:
        assert_self_contained(svg)
        root = parse(svg)
        assert root.get("role") == "img"
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert root.get("viewBox") and root.get("width") and root.get("height")
        tags = {e.tag.split("}")[-1] for e in root.iter()}
        assert not tags & {"script", "foreignObject"}
        assert not any(k.startswith("on") for e in root.iter() for k in e.attrib)


def test_workflow_figure_draws_real_tool_icons(built_repo):
    root = parse(built_repo / "build/diagrams/mlops_workflow.svg")
    labels = " ".join(texts(root))
    for word in ("Data", "Experiment", "Training", "registry", "Deployment", "Metrics", "Dashboards"):
        assert word in labels
    # Each icon is carried once, an <image> of its size, and moved to each place it is shown.
    assert not list(root.iter(f"{SVG}symbol"))
    icons = placed_icons(root)
    assert len(icons) >= 8
    distinct = {(icon.uri, icon.width, icon.height) for icon in icons}
    assert len(list(root.iter(f"{SVG}image"))) == len(distinct) < len(icons)


def test_benefits_figure_matches_the_original_mermaid(built_repo):
    raw = (built_repo / "build/diagrams/mlops_benefits.svg").read_text()
    root = parse(built_repo / "build/diagrams/mlops_benefits.svg")
    assert {"MLOps", "Collaboration", "Automation", "Model Performance"} <= set(texts(root))
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) == 3
    for edge in edges:
        path = edge.find(f"{SVG}path")
        assert path.get("stroke") == "#1a7f37" and path.get("stroke-width") == "2"
    assert "#1a7f37" in raw  # the accent, dark enough for 3:1 on white


def test_three_stage_figure_shows_each_role_and_mlops(built_repo):
    labels = " ".join(texts(parse(built_repo / "build/diagrams/three_stage_process.svg")))
    for phrase in ("Design", "Is ML the right tool?", "Train", "Select, tune, evaluate",
                   "Operate", "Deploy, manage, monitor", "MLOps"):
        assert phrase in labels


def test_built_chapter_keeps_every_sentence_and_only_local_images(built_repo):
    built = (built_repo / "build/chapters/chapter-1.md").read_text(encoding="utf-8")
    seed = SEED.read_text(encoding="utf-8")
    for line in seed.splitlines():
        line = line.strip()
        if line and not line.startswith("<"):
            assert line in built, line
    images = re.findall(r'<img src="([^"]+)"', built)
    assert len(images) == 3
    for src in images:
        assert not src.startswith(("http:", "https:", "//"))
        target = (built_repo / "build/chapters" / src).resolve()
        assert target.is_file() and (built_repo / "build") in target.parents
    assert "kroki.io" not in built and "redstarplugin" not in built


def test_rebuilding_from_nothing_gives_identical_bytes(built_repo, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(built_repo, again, ignore=shutil.ignore_patterns("build", "__pycache__"))
    result = subprocess.run([sys.executable, "-m", "course_assets", "build", "--jobs", "1"],
                            cwd=again, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert outputs(again) == outputs(built_repo)


def test_committed_build_is_what_the_sources_build(built_repo):
    committed = outputs(REPO)
    fresh = outputs(built_repo)
    stale = sorted(name for name in committed.keys() | fresh.keys()
                   if committed.get(name) != fresh.get(name))
    assert not stale, f"build/ is stale, run `make build` and commit it: {stale}"


def test_summary_line_counts_figures_and_chapters(course):
    course.figure("one")
    course.figure("two")
    course.chapter("ch", '{{ diagram("one") }}\n')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert re.search(r"2 figures \(2 rebuilt, 0 unchanged\), 1 chapter \(1 rebuilt\), [0-9.]+ s",
                     result.output)


def test_editing_one_script_rebuilds_only_it_and_its_chapters(course):
    course.figure("one")
    course.figure("two")
    course.chapter("uses_one", '{{ diagram("one") }}\n')
    course.chapter("uses_two", '{{ diagram("two") }}\n')
    assert course.run("build").exit_code == 0
    before = mtimes(course.root)
    course.figure("one", 'Mlflow("changed label")')
    result = course.run("build")
    assert "2 figures (1 rebuilt, 1 unchanged), 2 chapters (1 rebuilt)" in result.output
    after = mtimes(course.root)
    changed = {name for name in after if after[name] != before.get(name)}
    # The chapter is rendered again, but its bytes are the same, so the file is left alone.
    assert "diagrams/one.svg" in changed
    # Its other formats, and the slide decks of the chapter that shows it, are made again too.
    formats = {f"diagrams/one{variant}.{kind}"
               for variant in ("", ".dark") for kind in ("svg", "png")}
    formats.add("diagrams/one.outline.md")
    formats.add("diagrams/README.md")  # the gallery shows the figure's outline, which changed
    decks = {"slides/uses_one.html", "slides/uses_one.marp.md", "slides/uses_one.pptx",
             "slides/uses_one.dark.pptx"}
    assert changed <= formats | decks | {"chapters/uses_one.md", "manifest.json"}
    assert "changed label" in " ".join(texts(parse(course.built("diagrams/one.svg")))).lower()


def test_nothing_changed_writes_nothing(course):
    course.figure("one")
    course.chapter("ch", '{{ diagram("one") }}\n')
    course.run("build")
    before = mtimes(course.root)
    result = course.run("build")
    assert "1 figure (0 rebuilt, 1 unchanged), 1 chapter," in result.output
    assert mtimes(course.root) == before


def test_editing_a_helper_rebuilds_the_figures_that_import_it(course):
    course.write("diagrams/_style.py", 'COLOR = "#111111"\n')
    course.write("diagrams/styled.py", '''
        """Uses the style."""
        from diagrams import Diagram, Node
        from _style import COLOR
        with Diagram("Styled", show=False):
            Node("a", color=COLOR)
    ''')
    course.figure("plain")
    course.run("build")
    course.write("diagrams/_style.py", 'COLOR = "#222222"\n')
    result = course.run("build")
    assert "2 figures (1 rebuilt, 1 unchanged)" in result.output
    assert "#222222" in course.built("diagrams/styled.svg").read_text()


def test_a_helper_saved_again_within_the_same_second_is_run_as_it_is_now(course):
    import os

    # Same size, same modification second: Python would trust a .pyc of the first version.
    helper = course.write("diagrams/_style.py", 'COLOR = "#111111"\n')
    second = int(helper.stat().st_mtime)
    os.utime(helper, ns=(second * 10**9 + 100_000_000,) * 2)
    course.write("diagrams/styled.py", '''
        """Uses the style."""
        from diagrams import Diagram, Node
        from _style import COLOR
        with Diagram("Styled", show=False):
            Node("a", color=COLOR)
    ''')
    assert course.run("build").exit_code == 0
    helper.write_text('COLOR = "#222222"\n')
    os.utime(helper, ns=(second * 10**9 + 600_000_000,) * 2)
    assert "1 rebuilt" in course.run("build").output
    assert "#222222" in course.built("diagrams/styled.svg").read_text()
    # Nothing of the build's is written beside the author's scripts.
    assert not (course.root / "diagrams" / "__pycache__").exists()


def test_force_rebuilds_everything(course):
    course.figure("one")
    course.run("build")
    assert "(1 rebuilt, 0 unchanged)" in course.run("build", "--force").output


def test_removed_script_removes_only_what_the_build_wrote(course):
    course.figure("one")
    gone = course.figure("gone")
    course.run("build")
    mine = course.built("diagrams/notes.txt")
    mine.write_text("written by an author")
    gone.unlink()
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert not course.built("diagrams/gone.svg").exists()
    assert course.built("diagrams/one.svg").exists()
    assert mine.read_text() == "written by an author"


def test_a_course_outside_this_repository_builds_from_a_subfolder(course, monkeypatch):
    course.figure("one")
    course.chapter("part/ch", '# Part\n\n{{ diagram("one") }}\n')
    monkeypatch.chdir(course.root / "chapters")
    result = subprocess.run([sys.executable, "-m", "course_assets", "build"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'src="../../diagrams/one.svg"' in course.built("chapters/part/ch.md").read_text()


def test_graphviz_warnings_are_shown_once_under_the_figure(course):
    course.figure("warned", 'Mlflow("a") >> Edge(arrowhead="bogus") >> Mlflow("b")')
    result = course.run("build")
    assert result.exit_code == 0
    warnings = [line for line in result.output.splitlines() if "bogus" in line]
    # Once, though both the light and the dark layout say it.
    assert len(warnings) == 1 and warnings[0].startswith("diagrams/warned.py: warning:")


def test_an_edge_label_on_orthogonal_edges_is_placed_without_a_warning(course):
    # Graphviz says it cannot place labels on orthogonal edges; the build places them.
    course.figure("labelled", 'Mlflow("a") >> Edge(label="ortho places this") >> Mlflow("b")')
    result = course.run("build")
    assert result.exit_code == 0
    assert "warning: Graphviz" not in result.output and "edge-label-away" not in result.output


def test_a_build_that_cannot_write_leaves_old_outputs_whole_and_no_staged_files(course):
    course.figure("flow")
    course.chapter("intro", '# Intro\n\n{{ diagram("flow") }}\n')
    assert course.run("build").exit_code == 0
    before = {p: p.read_bytes() for p in course.built("").rglob("*") if p.is_file()}
    course.figure("flow", 'Mlflow("tracking") >> Airflow("a new pipeline")')
    # The chapter's output is now a folder: even --force refuses it, after staging the figure.
    chapter = course.built("chapters/intro.md")
    chapter.unlink()
    chapter.mkdir()
    result = course.run("build", "--force")
    assert result.exit_code != 0
    assert "chapters/intro.md: is a link or a folder" in result.output
    after = {p: p.read_bytes() for p in course.built("").rglob("*") if p.is_file()}
    assert not [p for p in after if p.name.endswith(".tmp")]
    assert after == {p: data for p, data in before.items() if p != chapter}


def test_a_figure_has_the_same_bytes_whatever_its_worker_drew_before(course):
    # One icon, in boxes of another shape than its own, 0.03 pt apart in two figures: both
    # boxes round to the same pixels, but the icon drawn in them differs by a row.
    from PIL import Image

    (course.root / "diagrams" / "icons").mkdir()
    Image.new("RGBA", (200, 180), (200, 30, 30, 255)).save(course.root / "diagrams/icons/r.png")
    for name, width in (("a_first", "0.783958"), ("b_second", "0.784375")):
        course.write(f"diagrams/{name}.py", f'''
            """An icon in a box narrower than its own shape."""
            from diagrams import Diagram
            from diagrams.custom import Custom

            with Diagram("{name}", show=False):
                Custom("x", "icons/r.png", width="{width}", height="2", fixedsize="true",
                       imagescale="false")
        ''')
    assert course.run("build", "-q", "-j", "1").exit_code == 0
    after_another = course.built("diagrams/b_second.svg").read_bytes()
    assert course.run("build", "-q", "--force", "b_second").exit_code == 0
    assert course.built("diagrams/b_second.svg").read_bytes() == after_another
    assert course.run("check", "--rebuild", "-q").exit_code == 0


def test_decks_made_in_parallel_are_the_bytes_made_one_at_a_time(course, tmp_path):
    # The gallery and each deck are made in processes of their own, several at once: what
    # they write, and the manifest that records it, is what one process writes alone.
    course.figure("one", 'Mlflow("tracking") >> Airflow("pipeline")')
    course.figure("two", 'Airflow("nightly") >> Mlflow("registry")')
    course.chapter("first", '# First\n\n## One\n\n{{ diagram("one") }}\n')
    course.chapter("second", '# Second\n\n## Two\n\n{{ diagram("two") }}\n\n## Both\n\n'
                             '{{ diagram("one") }}\n')
    alone = tmp_path / "alone"
    shutil.copytree(course.root, alone)
    assert course.run("build", "-q", "-j", "3").exit_code == 0
    assert Course(alone).run("build", "-q", "-j", "1").exit_code == 0

    def outputs(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and p.name not in (".hash-cache.json", ".lock")}

    parallel, serial = outputs(course.root / "build"), outputs(alone / "build")
    made = {"diagrams/README.md", *(f"slides/{chapter}{kind}" for chapter in ("first", "second")
                                    for kind in (".html", ".marp.md", ".pptx", ".dark.pptx"))}
    assert made <= set(parallel)  # the gallery, and every chapter's four decks
    assert parallel == serial
    assert not [p for p in (course.root / "build").rglob(".*.tmp")]  # nothing left staged
