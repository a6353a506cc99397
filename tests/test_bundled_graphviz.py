"""Graphviz inside the package: no `dot`, the bundled font only, the same bytes everywhere."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_assets.render import graphviz
from course_assets.state.files import sha256_bytes

MACHINE_FILES = {".lock", ".hash-cache.json"}
SRC = Path(graphviz.__file__).resolve().parents[2]


def write_sample(course) -> None:
    """A course with icons, clusters, edge labels, several fonts, and a script that changes locale."""
    course.figure("pipeline", '''
        import locale
        locale.setlocale(locale.LC_ALL, "")  # whatever the author's machine uses
        with Cluster("Train"):
            tracker = Mlflow("Experiment tracking")
        tracker >> Edge(label="runs, 1.5 per day") >> Airflow("Pipeline")
        Node("Times text", fontname="Times", shape="box")
        Node("Mono text", fontname="Courier", shape="box")
    ''')
    course.figure("plain")
    course.chapter("ch", '# Ch\n\n{{ diagram("pipeline") }}\n{{ diagram("plain") }}\n')


def build_in_subprocess(root: Path, env: dict[str, str], wrap: list[str] | None = None
                        ) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "course_assets", "-C", str(root), "build"]
    full_env = {**env, "PYTHONPATH": str(SRC)}
    return subprocess.run([*(wrap or []), *command], capture_output=True, text=True,
                          timeout=300, env=full_env, check=False)


def built_files(root: Path) -> dict[str, bytes]:
    build = root / "build"
    return {path.relative_to(build).as_posix(): path.read_bytes()
            for path in sorted(build.rglob("*"))
            if path.is_file() and path.name not in MACHINE_FILES}


def two_copies(course, tmp_path: Path) -> tuple[Path, Path]:
    write_sample(course)
    other = tmp_path / "other" / "course"
    shutil.copytree(course.root, other)
    return course.root, other


def test_build_with_no_dot_on_path_writes_the_same_bytes_and_never_runs_dot(course, tmp_path):
    first, second = two_copies(course, tmp_path)
    # A `dot` that leaves a trace: the build must not run it.
    trap = tmp_path / "trap"
    trap.mkdir()
    marker = tmp_path / "dot-was-run"
    (trap / "dot").write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    (trap / "dot").chmod(0o755)
    with_dot = build_in_subprocess(first, {**os.environ, "PATH": f"{trap}:{os.environ['PATH']}"})
    assert with_dot.returncode == 0, with_dot.stdout + with_dot.stderr
    empty = tmp_path / "nothing"
    empty.mkdir()
    without_dot = build_in_subprocess(second, {**os.environ, "PATH": str(empty)})
    assert without_dot.returncode == 0, without_dot.stdout + without_dot.stderr
    assert not marker.exists()
    assert built_files(first) == built_files(second)
    assert (second / "build/diagrams/pipeline.dark.png").is_file()


def _can_hide_system_fonts(empty: Path) -> bool:
    if not shutil.which("unshare") or not Path("/usr/share/fonts").is_dir():
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {empty} /usr/share/fonts"],
                           capture_output=True, timeout=30, check=False)
    return probe.returncode == 0


def test_build_is_byte_identical_under_another_locale_time_zone_home_and_no_system_fonts(
        course, tmp_path):
    first, second = two_copies(course, tmp_path)
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    if not _can_hide_system_fonts(empty):
        pytest.skip("needs `unshare -m` and the right to mount (root) to hide the system fonts")
    here = build_in_subprocess(first, dict(os.environ))
    assert here.returncode == 0, here.stdout + here.stderr
    home = tmp_path / "elsewhere-home"
    home.mkdir()
    available = subprocess.run(["locale", "-a"], capture_output=True, text=True,
                               check=False).stdout.split()
    german = next((name for name in available if name.lower().startswith("de_de")), "C.UTF-8")
    hidden = ["/usr/share/fonts", "/usr/local/share/fonts"]
    mounts = " && ".join(f"mount --bind {empty} {folder}" for folder in hidden
                         if Path(folder).is_dir())
    elsewhere_env = {
        "PATH": os.environ["PATH"], "HOME": str(home), "LANG": german, "LC_ALL": german,
        "TZ": "Pacific/Chatham", "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
        # Were anything to ask the system's fontconfig, it would find no fonts at all.
        "FONTCONFIG_FILE": str(empty / "fonts.conf"), "FONTCONFIG_PATH": str(empty),
    }
    there = build_in_subprocess(second, elsewhere_env,
                                wrap=["unshare", "-m", "sh", "-c", f'{mounts} && exec "$@"', "-"])
    assert there.returncode == 0, there.stdout + there.stderr
    assert built_files(first) == built_files(second)


def test_only_the_bundled_font_measures_text():
    def geometry(fontname: str) -> list[bytes]:
        svg = graphviz.draw(f'digraph {{ a [shape=box label="Wide WWW text" '
                            f'fontname="{fontname}"] }}').svg
        return re.findall(rb'points="[^"]*"', svg)

    sans = geometry("Sans-Serif")
    assert geometry("Times") == sans
    assert geometry("No Such Font At All") == sans
    svg = graphviz.draw('digraph { a [fontname="Times"] }').svg
    assert b'font-family="DejaVu Sans,' in svg and b"Times" not in svg


def test_the_font_and_its_licence_ship_inside_the_package_untouched():
    fonts = Path(graphviz.FONTS)
    graphviz.draw('digraph { a [label="text"] }')
    # fontconfig leaves bookkeeping files in the folders it scans: never in the package.
    assert sorted(p.name for p in fonts.iterdir()) == [
        "DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "LICENSE"]
    assert "Bitstream" in (fonts / "LICENSE").read_text(encoding="utf-8")


def test_graph_that_makes_graphviz_abort_is_that_figures_error_and_the_rest_build(course):
    # Graphviz gives up on this node (it cannot allocate its polygon) and ends its process.
    course.figure("a_broken", 'Node("x", shape="polygon", sides="2000000000")')
    course.figure("b_fine")
    course.figure("c_fine")
    result = course.run("build", "-j", "1")
    assert result.exit_code == 1
    assert "diagrams/a_broken.py:6: Graphviz ended the process (exit code 1) while laying out " \
           "the figure" in result.output
    assert "out of memory" in result.output  # Graphviz's own words, under the figure
    # One worker rendered all three: it outlived the crash.
    assert course.built("diagrams/b_fine.svg").is_file()
    assert course.built("diagrams/c_fine.svg").is_file()
    assert not course.built("diagrams/a_broken.svg").exists()


def test_graphviz_names_a_node_by_its_label_and_script_line(course):
    course.figure("ported", '''
        tracker = Mlflow("Experiment tracker")
        tracker >> Edge(headport="nowhere") >> Airflow("Pipeline")
    ''')
    result = course.run("build")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "nowhere" in line]
    assert len(lines) == 1
    assert lines[0].startswith("diagrams/ported.py: warning: Graphviz: Warning: node "
                               "'Pipeline' (line 9), port nowhere unrecognized")
    assert not re.search(r"\bn[0-9]+\b", lines[0])


def test_png_is_twice_the_svg_but_no_longer_than_the_setting(course):
    from PIL import Image

    # A slide 720 px wide (and 405 px high) fits the tiny figure at twice its size.
    course.write("pyproject.toml", "[tool.course-assets]\npng_max_side = 720\nformats = "
                 '["svg", "png"]\n')
    course.figure("wide", 'Mlflow("a") >> Airflow("b") >> Mlflow("c") >> Airflow("d")')
    course.figure("tiny", 'Node("x", shape="box")')
    assert course.run("build").exit_code == 0
    svg = course.built("diagrams/wide.svg").read_text()
    width, height = (int(v) for v in re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"',
                                               svg).groups())
    assert width * 2 > 720 and height * 720 / width <= 405
    with Image.open(io.BytesIO(course.built("diagrams/wide.png").read_bytes())) as png:
        assert png.size == (720, round(height * 720 / width))
    tiny = course.built("diagrams/tiny.svg").read_text()
    tiny_size = tuple(int(v) for v in re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"',
                                                tiny).groups())
    with Image.open(io.BytesIO(course.built("diagrams/tiny.png").read_bytes())) as png:
        assert png.size == (tiny_size[0] * 2, tiny_size[1] * 2)


@pytest.mark.parametrize("value", ['"big"', "10", "true", "100000"])
def test_png_max_side_must_be_a_sensible_whole_number(course, value):
    course.write("pyproject.toml", f"[tool.course-assets]\npng_max_side = {value}\n")
    result = course.run("build")
    assert result.exit_code == 2
    assert "png_max_side must be a whole number of pixels from 256 to 16384" in result.output


def test_check_rebuild_compares_fresh_bytes_with_build(course):
    course.figure("one")
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n')
    assert course.run("build").exit_code == 0
    result = course.run("check", "--rebuild")
    assert result.exit_code == 0, result.output
    # As if another machine wrote other bytes and recorded them: plain `check` cannot tell.
    svg = course.built("diagrams/one.svg")
    altered = svg.read_bytes().replace(b"</svg>", b"<g/></svg>")
    svg.write_bytes(altered)
    manifest = course.built("manifest.json")
    data = json.loads(manifest.read_text())
    data["figures"]["one"]["outputs"]["build/diagrams/one.svg"] = sha256_bytes(altered)
    manifest.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    assert course.run("build").exit_code == 0  # brings what embeds the figure up to date
    assert course.built("diagrams/one.svg").read_bytes() == altered
    assert course.run("check").exit_code == 0
    result = course.run("check", "--rebuild")
    assert result.exit_code == 3
    assert "build/diagrams/one.svg: differs from a fresh build" in result.output
    assert "build/manifest.json: differs from a fresh build" in result.output


def test_the_command_line_process_never_loads_graphviz(course):
    course.figure("one")
    probe = ("import sys\n"
             "from course_assets.cli import cli\n"
             "for args in (['build', '-q', '--force'], ['build', '-q'], ['check', '--rebuild']):\n"
             "    try:\n"
             "        cli(['-C', sys.argv[1], *args], standalone_mode=False)\n"
             "    except SystemExit:\n"
             "        pass\n"
             "print('loaded' if 'pygraphviz' in sys.modules else 'not loaded')\n")
    result = subprocess.run([sys.executable, "-c", probe, str(course.root)], capture_output=True,
                            text=True, timeout=120, check=False,
                            env={**os.environ, "PYTHONPATH": str(SRC)})
    assert result.stdout.strip().splitlines()[-1] == "not loaded", result.stderr
    assert course.built("diagrams/one.svg").is_file()


def test_a_runaway_layout_is_stopped_as_that_figures_error(course):
    # Quick to build in Python, slow for Graphviz: hundreds of orthogonal edges.
    course.figure("a_tangle", '''
        nodes = [Node(f"a{i}") for i in range(60)]
        for i in range(60):
            for j in range(i + 1, 60):
                if (i * 7 + j) % 3 == 0:
                    nodes[i] >> nodes[j]
    ''')
    course.figure("b_fine")
    result = course.run("build", "-j", "1", "--timeout", "3")
    assert result.exit_code == 1
    assert "diagrams/a_tangle.py:6: stopped after 3 s: Graphviz did not finish laying out" \
        in result.output
    assert course.built("diagrams/b_fine.svg").is_file()


def test_a_quoted_node_in_graphviz_words_is_named_once_quoted(course):
    course.figure("narrow", '''
        Node("A label far too wide for its node", shape="box", width="0.5", fixedsize="true")
    ''')
    result = course.run("build")
    lines = [line for line in result.output.splitlines() if "too small for label" in line]
    assert len(lines) == 1, result.output
    assert "node 'A label far too wide for its node' (line 8)" in lines[0], lines[0]
    assert "''" not in lines[0]


def test_size_too_small_for_label_only_where_the_label_leaves_its_drawn_shape(course):
    # Graphviz warns of both: the icon node's label is wider than its (invisible) box, drawn
    # whole below the icon; the box's label runs out of the box it is drawn in.
    course.figure("labels", '''
        Airflow("experiment tracking")
        Node("a label far too wide", shape="box", width="0.8", height="0.4", fixedsize="true")
        Node("fits", shape="box", width="0.8", height="0.4", fixedsize="true")
    ''')
    result = course.run("build")
    lines = [line for line in result.output.splitlines() if "too small for label" in line]
    assert len(lines) == 1, result.output
    assert "'a label far too wide' (line 9)" in lines[0], lines[0]
