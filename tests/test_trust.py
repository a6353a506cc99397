"""Hostile and unlucky inputs: the build touches nothing outside build/, never locks a course out,
and every limit it sets is reported at the author's file and line."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from svgtools import decode_png, parse, placed_icons

SVG_ONLY = '[tool.course-assets]\nformats = ["svg"]\n'


def cli(root: Path, *args: str, timeout: float = 120, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course_assets", *args], cwd=root,
                          capture_output=True, text=True, timeout=timeout,
                          **popen)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- 1. the build writes and removes only its own files inside build/ ------------------------------

@pytest.fixture
def one_figure(course):
    course.write("pyproject.toml", SVG_ONLY)
    course.write("README.md", "# The course\n")
    course.figure("a")
    course.chapter("ch", '{{ diagram("a") }}\n')
    assert course.run("build").exit_code == 0
    return course


def test_a_manifest_listing_files_outside_build_is_refused_and_nothing_is_deleted(one_figure):
    course = one_figure
    outside = course.root.parent / "outside.txt"
    outside.write_text("not the course's\n")
    manifest_path = course.built("manifest.json")
    manifest = json.loads(manifest_path.read_text())
    targets = {"README.md": course.root / "README.md",
               "diagrams/a.py": course.root / "diagrams/a.py",
               "../outside.txt": outside}
    for name, path in targets.items():
        manifest["figures"]["a"]["outputs"][name] = sha256(path)
    manifest_path.write_text(json.dumps(manifest))
    course.figure("a", 'Mlflow("changed")')  # something to build

    result = course.run("build")
    assert result.exit_code == 2, result.output
    assert "build/manifest.json: the manifest was tampered with" in result.output
    assert all(path.exists() for path in targets.values())

    result = course.run("check")
    assert result.exit_code == 2
    assert "tampered with" in result.output and "course-assets build" not in result.output


@pytest.mark.parametrize("entry", ["/etc/hostname", "build/../README.md", "chapters/ch.md"])
def test_absolute_dotted_and_non_build_manifest_entries_are_refused(one_figure, entry):
    manifest_path = one_figure.built("manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["chapters"]["ch"]["outputs"][entry] = "0" * 64
    manifest_path.write_text(json.dumps(manifest))
    result = one_figure.run("build")
    assert result.exit_code == 2 and "tampered with" in result.output, result.output


@pytest.mark.parametrize("link", ["build/src", "build/diagrams/a.py"])
def test_a_manifest_entry_reached_through_a_link_out_of_build_is_refused(one_figure, link):
    course = one_figure
    script = course.root / "diagrams/a.py"
    linked = course.root / link
    if link.endswith(".py"):
        linked.symlink_to(script)
        entry = link
    else:
        linked.symlink_to(course.root / "diagrams", target_is_directory=True)
        entry = f"{link}/a.py"
    manifest_path = course.built("manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["figures"]["a"]["outputs"][entry] = sha256(script)
    manifest_path.write_text(json.dumps(manifest))
    course.chapter("ch", 'Changed.\n{{ diagram("a") }}\n')  # something to build

    said = f"{link}: is a link to {script.parent if entry != link else script}, outside the " \
        f"build folder, and the manifest lists {entry!r} through it; nothing was written"
    result = course.run("build")
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert script.is_file()
    check = course.run("check")
    assert check.exit_code == 2, check.output
    assert said in check.output and "course-assets build" not in check.output


def test_a_manifest_entry_that_is_a_link_within_build_is_not_refused(one_figure):
    course = one_figure
    svg = course.built("diagrams/a.svg")
    kept = course.built("kept.svg")
    svg.rename(kept)
    svg.symlink_to(kept)
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert "outside the build folder" not in result.output
    # Only a build that would write it says so: through a link it writes nothing.
    result = course.run("build", "--force")
    assert result.exit_code == 1, result.output
    assert "build/diagrams/a.svg: is a link or a folder" in result.output


def test_a_build_folder_link_leading_out_of_the_course_is_not_written_through(one_figure,
                                                                              tmp_path):
    course = one_figure
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    chapters = course.built("chapters")
    for built in chapters.iterdir():
        built.unlink()
    chapters.rmdir()
    chapters.symlink_to(elsewhere, target_is_directory=True)
    course.chapter("ch", 'Changed.\n{{ diagram("a") }}\n')

    result = course.run("build", "--force")
    assert result.exit_code != 0
    assert "build/chapters: is a link to" in result.output and "outside the build" in result.output
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("machine_file", [".lock", ".gitignore"])
def test_a_machine_file_that_is_a_link_out_of_the_course_is_not_written_through(one_figure,
                                                                                tmp_path,
                                                                                machine_file):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me\n")
    cached = one_figure.built(machine_file)
    cached.unlink()
    cached.symlink_to(outside)
    one_figure.figure("a", 'Mlflow("changed")')
    result = one_figure.run("build")
    assert outside.read_text() == "keep me\n"
    assert result.exit_code != 0
    assert "is a link or a folder" in result.output, result.output


# -- 2. processes never outlive the build; a lock left behind is taken over -----------------------

def group_members(group: int) -> list[int]:
    from conftest import processes_where

    return processes_where(2, group)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_build_leaves_no_process_and_the_next_build_starts_at_once(course, stop_signal):
    course.write("pyproject.toml", SVG_ONLY)
    for index in range(3):
        course.write(f"diagrams/slow{index}.py", f'''
            """Slow figure {index}."""
            import time
            from diagrams import Diagram, Node
            time.sleep(4)
            with Diagram("Slow {index}", show=False):
                Node("x")
        ''')
    first = subprocess.Popen([sys.executable, "-m", "course_assets", "build", "--force", "-j", "2"],
                             cwd=course.root, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)  # the workers are running the scripts now
    first.send_signal(stop_signal)  # the main process only, as `kill PID` or an OOM kill does
    first.wait(timeout=30)

    started = time.monotonic()
    second = cli(course.root, "build", "-j", "2", timeout=45)
    assert second.returncode == 0, second.stdout + second.stderr
    assert time.monotonic() - started < 30
    if stop_signal == signal.SIGKILL:  # it could not let go of the lock: the next takes it over
        assert "taking the lock over" in second.stderr
        assert f"PID {first.pid}" in second.stderr
    else:  # stopped as Ctrl-C stops it, it let go of the lock
        assert first.returncode == 143
        assert "lock" not in second.stderr, second.stderr
    deadline = time.monotonic() + 5
    while group_members(first.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_members(first.pid) == []


def test_a_script_that_leaves_a_child_running_builds_and_the_child_is_killed(course, tmp_path):
    course.write("pyproject.toml", SVG_ONLY)
    pid_file = tmp_path / "grandchild.pid"
    course.write("diagrams/forks.py", f'''
        """Leaves a child process running."""
        import os, time
        from diagrams import Diagram, Node
        child = os.fork()
        if child == 0:
            time.sleep(60)
            os._exit(0)
        open({str(pid_file)!r}, "w").write(str(child))
        with Diagram("Forks", show=False):
            Node("x")
    ''')
    started = time.monotonic()
    result = course.run("build", "--timeout", "20")
    assert result.exit_code == 0, result.output
    assert "did not finish in time" not in result.output
    assert time.monotonic() - started < 15
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the script's child process is still running")


# -- 3. gradients keep their colours -------------------------------------------------------------

def colour_counts(png: bytes) -> tuple[int, int]:
    """Return how many pixels of a screenshot are orange-ish, and how many are near black."""
    import io

    from PIL import Image

    data = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    orange = black = 0
    for red, green, blue in zip(data[0::3], data[1::3], data[2::3]):
        if red > 200 and 100 < green < 210 and blue < 120:
            orange += 1
        elif red + green + blue < 60:
            black += 1
    return orange, black


@pytest.mark.browser
def test_gradient_fills_render_in_colour_not_black(course, page):
    course.write("pyproject.toml", SVG_ONLY)
    course.figure("gradient", '''
        with Cluster("group", graph_attr={"bgcolor": "lightyellow:orange", "style": "filled"}):
            Node("step", shape="box", style="filled", fillcolor="white:orange",
                 width="3", height="2")
    ''')
    assert course.run("build").exit_code == 0
    svg = course.built("diagrams/gradient.svg")
    shown = course.root / "page.html"
    shown.write_text(f"<!doctype html><body style='margin:0;background:#fff'>"
                     f"<img id='figure' src='{svg.as_uri()}'></body>")
    page.goto(shown.as_uri())
    orange, black = colour_counts(page.screenshot())
    assert orange > 2000 and black < 2000, (orange, black)
    assert "style=" not in svg.read_text()  # kept as attributes with checked values


# -- 10. smaller leaks ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["g", "graph", "node"])
def test_every_id_of_a_figure_is_prefixed_whatever_its_name(course, name):
    course.write("pyproject.toml", SVG_ONLY)
    course.figure(name, 'Node("a") >> Node("b", style="filled", fillcolor="white:blue")')
    assert course.run("build").exit_code == 0
    ids = [e.get("id") for e in parse(course.built(f"diagrams/{name}.svg")).iter() if e.get("id")]
    assert ids and all(i.startswith(f"{name}.") for i in ids), ids


# -- 4. a rename plus an error does not leave the gallery unowned --------------------------------

def test_renaming_a_figure_into_an_error_then_fixing_it_builds_without_a_false_hand_edit(course):
    course.write("pyproject.toml", SVG_ONLY)
    script = course.figure("a")
    assert course.run("build").exit_code == 0
    code = script.read_text()
    script.unlink()
    broken = code.replace("with Diagram", 'raise ValueError("half-way")\nwith Diagram')
    renamed = course.write("diagrams/b.py", broken)
    assert course.run("build").exit_code == 1

    renamed.write_text(code)
    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert "changed by hand" not in result.output
    assert course.built("diagrams/README.md").is_file()
    check = course.run("check")
    assert check.exit_code == 0 and "build/ is up to date" in check.output, check.output


# -- 5. decks and the preview do not navigate away -----------------------------------------------

def navigating_chapter(port: int, figure: str) -> str:
    return (f'# Chapter\n\n<meta http-equiv="refresh" content="1;url=http://127.0.0.1:{port}/x">\n\n'
            f'<base href="http://127.0.0.1:{port}/">\n\n'
            f'<link rel="prefetch" href="http://127.0.0.1:{port}/y">\n\n'
            f'Text <meta http-equiv="refresh" content="0;url=http://127.0.0.1:{port}/z"> and '
            f'[a link](other.md).\n\n{{{{ diagram("{figure}") }}}}\n')


@pytest.mark.browser
def test_a_deck_opened_from_a_file_does_not_navigate(course, page):
    course.write("pyproject.toml", SVG_ONLY)
    course.figure("a")
    course.chapter("ch", navigating_chapter(9, "a"))
    assert course.run("build").exit_code == 0
    deck = course.built("slides/ch.html")
    html = deck.read_text()
    assert "refresh" not in html and "<base" not in html and "prefetch" not in html
    page.goto(deck.as_uri())
    time.sleep(2.5)
    assert page.url.split("#")[0] == deck.as_uri()


def test_preview_pages_drop_what_navigates(course):
    import urllib.request

    from conftest import running_preview

    with running_preview(course, 'Mlflow("a")', navigating_chapter(9, "pipeline")) as server:
        deadline = time.monotonic() + 60
        while not (course.root / "build/chapters/intro.md").exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        url = f"http://127.0.0.1:{server.port}/chapters/intro.html"
        with urllib.request.urlopen(url, timeout=30) as response:
            html = response.read().decode()
    assert "Text " in html
    assert "refresh" not in html and "<base" not in html and "prefetch" not in html


# -- 7. a chapter cannot hang build, watch or serve ----------------------------------------------

ENDLESS = ("# Endless\n\n{% for i in range(99999) %}{% for j in range(99999) %}{{ '' }}"
           "{% endfor %}{% endfor %}\n")


def test_a_chapter_that_never_ends_is_stopped_and_reported_at_the_chapter(course):
    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg"]\ntimeout = 2\n')
    course.figure("a")
    course.chapter("endless", ENDLESS)
    course.chapter("fine", '{{ diagram("a") }}\n')
    started = time.monotonic()
    result = cli(course.root, "build", timeout=60)
    assert result.returncode == 1
    assert "chapters/endless.md: stopped after 2 s" in result.stderr, result.stderr
    assert time.monotonic() - started < 30
    assert course.built("chapters/fine.md").is_file()


def test_the_preview_server_does_not_hang_on_a_chapter_that_never_ends(course):
    import threading

    from conftest import running_preview

    course.write("pyproject.toml", '[tool.course-assets]\nformats = ["svg"]\ntimeout = 2\n')
    found: list[str] = []

    def serve() -> None:
        with running_preview(course, 'Mlflow("a")', ENDLESS) as server:
            found.extend(p.message for p in server.state.errors)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the preview server hung on the chapter"
    assert any(message.startswith("stopped after 2 s") for message in found), found


@pytest.mark.parametrize("text, message", [
    ('{{ "x" * 999999999 }}\n', "makes a value larger than a chapter may be"),
    ("{% for i in range(99999) %}{{ 'y' * 9999 }}{% endfor %}\n", "the chapter grew past"),
])
def test_a_chapter_too_large_to_build_is_an_error_not_a_crash(course, text, message):
    course.write("pyproject.toml", SVG_ONLY)
    course.chapter("huge", text)
    result = course.run("build")
    assert result.exit_code == 1 and "chapters/huge.md:" in result.output, result.output
    assert message in result.output


# -- 9 and 10: chapters and sources say what is wrong, at the file -------------------------------

def test_jinja_like_text_in_a_code_block_suggests_raw(course):
    course.write("pyproject.toml", SVG_ONLY)
    course.chapter("ci", "# CI\n\n```yaml\nsha: ${{ github.sha }}\n```\n")
    result = course.run("build")
    assert result.exit_code == 1
    assert "chapters/ci.md:4: undefined variable" in result.output
    assert "{% raw %}" in result.output


def test_diagram_without_a_call_is_an_error_not_a_memory_address(course):
    course.write("pyproject.toml", SVG_ONLY)
    course.figure("a")
    course.chapter("ch", "# Ch\n\n{{ diagram }}\n")
    result = course.run("build")
    assert result.exit_code == 1
    assert 'chapters/ch.md:3: {{ diagram }} shows a function instead of calling it' in \
        result.output, result.output
    assert not course.built("chapters/ch.md").exists()


def test_a_chapter_linking_to_a_file_outside_the_course_is_refused(course):
    course.write("pyproject.toml", SVG_ONLY)
    (course.root / "chapters/passwd.md").symlink_to("/etc/passwd")
    result = course.run("build")
    assert result.exit_code == 1
    assert "chapters/passwd.md: is a link to /etc/passwd, outside the course" in result.output
    built = list((course.root / "build").rglob("*passwd*"))
    assert built == []


def test_a_dangling_script_link_is_named_as_the_script(course):
    course.write("pyproject.toml", SVG_ONLY)
    (course.root / "diagrams/gone.py").symlink_to("nothing.py")
    result = course.run("build")
    assert result.exit_code == 1
    assert "diagrams/gone.py: is a link to nothing.py, which does not exist" in result.output
    assert "capture.py" not in result.output and "nothing.py:" not in result.output


def test_a_script_name_starting_with_a_dash_says_what_is_wrong(course):
    course.write("pyproject.toml", SVG_ONLY)
    course.write("diagrams/-leading.py", '"""Leading dash."""\n')
    result = course.run("build")
    assert result.exit_code == 1
    assert ("diagrams/-leading.py: a figure script's name must start with a letter or a digit, "
            "and '-leading.py' starts with '-'") in result.output


def test_a_deeply_nested_manifest_is_a_damaged_manifest(one_figure):
    one_figure.built("manifest.json").write_text("[" * 100000 + "]" * 100000)
    result = one_figure.run("build")
    assert result.exit_code == 2
    assert "build/manifest.json: the manifest is damaged (nested too deeply)" in result.output


# -- 6. what migrate keeps survives the chapter template -----------------------------------------

KEPT_BLOCK = "```mermaid\nflowchart LR\n  A{{Decide}} --> B\n  click A callback\n```"
KEPT_IMAGE = "![chart of {{x}}](https://example.com/chart.png)"


def test_blocks_and_images_migrate_keeps_build_unchanged(course):
    course.write("pyproject.toml", SVG_ONLY)
    original = f"# Ch\n\nBefore.\n\n{KEPT_BLOCK}\n\nSee {KEPT_IMAGE} here.\n"
    chapter = course.chapter("ch", original)
    result = course.run("migrate", "chapters", "--write")
    assert result.exit_code == 0, result.output
    migrated = chapter.read_text()

    result = course.run("build")
    assert result.exit_code == 0, result.output
    assert course.built("chapters/ch.md").read_text() == original
    assert course.run("migrate", "chapters", "--write").exit_code == 0
    assert chapter.read_text() == migrated  # a second run changes nothing


# -- 8. migrate writes scripts that compile, however deep the groups ------------------------------

def test_a_flowchart_with_twenty_nested_subgraphs_migrates_to_a_script_that_builds(course):
    course.write("pyproject.toml", SVG_ONLY)
    depth = 20
    lines = ["flowchart TB"]
    lines += [f"{'  ' * i}subgraph level{i}" for i in range(depth)]
    lines += [f"{'  ' * depth}A[Deepest] --> B[Next]"]
    lines += [f"{'  ' * i}end" for i in reversed(range(depth))]
    course.chapter("deep", "# Deep\n\n```mermaid\n" + "\n".join(lines) + "\n```\n")
    result = course.run("migrate", "chapters", "--write")
    assert result.exit_code == 0, result.output
    scripts = [p for p in (course.root / "diagrams").glob("*.py")]
    assert len(scripts) == 1, result.output
    compile(scripts[0].read_text(), str(scripts[0]), "exec")
    result = course.run("build")
    assert result.exit_code == 0, result.output
    svg = course.built(f"diagrams/{scripts[0].stem}.svg").read_text()
    assert "level19" in svg and "Deepest" in svg


# -- 9. figures too large: the figure's error, at its line, with what to do -----------------------

def test_an_icon_too_large_is_the_figures_error_at_its_line(course):
    from PIL import Image

    (course.root / "icons").mkdir()
    Image.new("L", (20000, 20000)).save(course.root / "icons/bomb.png", optimize=True)
    course.write("diagrams/bomb.py", '''
        """A decompression bomb as an icon."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Bomb", show=False):
            Custom("bomb", "icons/bomb.png")
    ''')
    result = course.run("build")
    assert result.exit_code == 1
    assert ("diagrams/bomb.py:5: icon file icons/bomb.png is 20,000 x 20,000 pixels" in
            result.output), result.output
    assert "scale it down" in result.output and "worker" not in result.output


def test_an_svg_icon_is_refused_without_internals(course):
    (course.root / "icons").mkdir()
    (course.root / "icons/logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    course.write("diagrams/logo.py", '''
        """An SVG icon."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Logo", show=False):
            Custom("logo", "icons/logo.svg")
    ''')
    result = course.run("build")
    assert result.exit_code == 1
    assert "diagrams/logo.py:5: icon file icons/logo.svg is an SVG file" in result.output
    assert "rsvg-convert" in result.output and "BytesIO" not in result.output


def test_a_label_too_long_for_graphviz_is_reported_without_dot_line_numbers(course):
    course.write("pyproject.toml", SVG_ONLY)
    course.write("diagrams/label.py", '''
        """A very long label."""
        from diagrams import Diagram, Node
        with Diagram("Label", show=False):
            Node("x" * 100000)
    ''')
    result = course.run("build")
    assert result.exit_code == 1
    assert ("diagrams/label.py:3: a label or attribute value of 100,000 characters" in
            result.output), result.output
    assert "in line" not in result.output and "<stdin>" not in result.output


def test_a_figure_too_large_to_paint_in_time_is_its_error_with_a_hint(course):
    # 6,400 edges between two ranks of 80: Graphviz's crossing minimisation takes far longer
    # than the script that makes them.
    course.write("diagrams/huge.py", '''
        """Thousands of edges."""
        from diagrams import Diagram, Node
        with Diagram("Huge", show=False):
            top = [Node(f"t{index}") for index in range(80)]
            bottom = [Node(f"b{index}") for index in range(80)]
            for upper in top:
                for lower in bottom:
                    upper >> lower
    ''')
    result = course.run("build", "--timeout", "3")
    assert result.exit_code == 1
    assert "diagrams/huge.py:3: " in result.output, result.output
    assert "split into smaller ones" in result.output and "worker" not in result.output


@pytest.mark.parametrize("kind", ["WEBP", "BMP", "TIFF"])
def test_an_icon_graphviz_cannot_draw_is_refused_not_left_out(course, kind):
    # Graphviz only warns about these, and draws the light figure without the icon.
    from PIL import Image

    (course.root / "icons").mkdir()
    Image.new("RGB", (64, 64), (200, 60, 20)).save(course.root / f"icons/logo.{kind.lower()}",
                                                    format=kind)
    course.write("diagrams/logo.py", f'''
        """A {kind} icon."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Logo", show=False):
            Custom("logo", "icons/logo.{kind.lower()}")
    ''')
    result = course.run("build")
    assert result.exit_code == 1, result.output
    assert (f"diagrams/logo.py:5: icon file icons/logo.{kind.lower()} is a {kind} image, which "
            "Graphviz cannot draw: give Custom a PNG") in result.output, result.output
    assert "Image.open('icons/logo." in result.output


def test_a_cmyk_jpeg_icon_is_embedded_in_colour(course):
    from PIL import Image

    (course.root / "icons").mkdir()
    Image.new("RGB", (64, 64), (200, 60, 20)).convert("CMYK").save(
        course.root / "icons/print.jpg", format="JPEG")
    course.write("diagrams/printed.py", '''
        """A JPEG icon saved for print, in CMYK."""
        from diagrams import Diagram
        from diagrams.custom import Custom
        with Diagram("Printed", show=False):
            Custom("printed", "icons/print.jpg")
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    for variant in ("printed.svg", "printed.dark.svg"):
        (icon,) = {i.uri for i in placed_icons(parse(course.built(f"diagrams/{variant}")))}
        image = decode_png(icon).convert("RGBA")
        red, green, blue, _ = image.getpixel((image.width // 2, image.height // 2))
        assert red > 150 and green < 120 and blue < 100, (variant, red, green, blue)


@pytest.mark.parametrize("swapped_to", ["outside", "inside the course"])
def test_a_build_folder_swapped_for_a_link_during_a_build_is_not_written_through(tmp_path,
                                                                                 swapped_to):
    # The build folder is resolved once a build: swapped for a link after its first file, by
    # another program, it must still carry no write anywhere but the build folder it checked.
    import os

    from course_assets.errors import OutputError
    from course_assets.outputs import OutputPaths
    from course_assets.state.files import OutputFolder

    root = tmp_path / "course"
    build = root / "build"
    build.mkdir(parents=True)
    folder = OutputFolder(OutputPaths(root, build))
    folder.write(build / "first.svg", b"<svg/>")
    target = tmp_path / "elsewhere" if swapped_to == "outside" else root / "chapters"
    target.mkdir()
    build.rename(root / "build.before")
    build.symlink_to(target, target_is_directory=True)
    for path in (build / "second.svg", build / "diagrams" / "third.svg"):
        with pytest.raises(OutputError, match="is a link to"):
            folder.write(path, b"<svg/>")
    with pytest.raises(OutputError, match="is a link to"):
        folder.remove(build / "first.svg")
    assert os.listdir(target) == []
