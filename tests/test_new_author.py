"""What a new author met with their own course (issue 19, items 16 to 25), each through the
real command: named builds beside broken figures, external images, the API, serve, init in an
existing repository, migrate, and a machine without the wheel's system libraries."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from course_assets.cli import cli

SVG_ONLY = '[tool.course-assets]\nformats = ["svg"]\n'


@pytest.fixture
def beside_a_broken_figure(course):
    """A course whose chapter `one` embeds a good figure and one that never builds."""
    course.write("pyproject.toml", SVG_ONLY)
    course.figure("good")
    course.figure("other")
    course.figure("bad", 'Mlflow(undefined_name)')
    course.chapter("one", '# One\n\n{{ diagram("good") }}\n\n{{ diagram("bad") }}\n')
    course.chapter("two", '# Two\n\n{{ diagram("other") }}\n\n{{ diagram("bad") }}\n')
    return course


# -- 16. build NAME beside a figure that never built -----------------------------------------------

def test_a_named_build_shows_a_placeholder_for_a_never_built_figure_as_the_full_build_does(
        beside_a_broken_figure):
    course = beside_a_broken_figure
    result = course.run("build", "good")
    assert "unknown figure 'bad'" not in result.output, result.output
    assert "failed chapter one" not in result.output
    built = course.built("chapters/one.md").read_text(encoding="utf-8")
    assert "good.svg" in built and "bad" in built  # the placeholder, as a full build writes it
    assert not course.built("chapters/two.md").exists()  # it does not embed `good`


def test_check_keeps_the_real_cause_after_a_named_build(beside_a_broken_figure):
    course = beside_a_broken_figure
    assert course.run("build").exit_code == 1
    course.figure("good", 'Mlflow("changed")')
    course.run("build", "good")
    check = course.run("check")
    assert "diagrams/bad.py:7: NameError: name 'undefined_name' is not defined" in check.output, \
        check.output


# -- 17. only what a named build was asked about decides its exit code -----------------------------

def test_a_named_build_exits_0_when_only_other_figures_are_broken(beside_a_broken_figure):
    course = beside_a_broken_figure
    assert course.run("build").exit_code == 1
    course.figure("good", 'Mlflow("changed")')
    result = course.run("build", "good")
    assert result.exit_code == 0, result.output
    # Still said, as a warning: the chapters show a placeholder for `bad`.
    assert "warning:" in result.output and "'bad'" in result.output


def test_a_named_build_of_the_broken_figure_still_fails(beside_a_broken_figure):
    course = beside_a_broken_figure
    result = course.run("build", "bad")
    assert result.exit_code == 1
    assert "diagrams/bad.py:7: NameError" in result.output


# -- 19. the exception base is part of the API -----------------------------------------------------

def test_the_api_exports_the_exception_base_the_readme_documents(tmp_path: Path):
    import course_assets
    from course_assets.errors import CourseAssetsError, ExitCode

    assert course_assets.CourseAssetsError is CourseAssetsError
    assert "CourseAssetsError" in course_assets.__all__
    with pytest.raises(course_assets.CourseAssetsError) as raised:
        course_assets.build_course(tmp_path / "no-course-here")
    assert raised.value.exit_code == ExitCode.USAGE


# -- 21. build --help names no figure of this repository -------------------------------------------

def test_build_help_gives_a_generic_example():
    result = CliRunner().invoke(cli, ["build", "--help"])
    assert result.exit_code == 0
    assert "mlops_workflow" not in result.output
    assert "diagrams/architecture.py" in result.output


# -- 18. external images: one rule in build and check ----------------------------------------------

PHOTO = "![Team photo](https://example.com/team.jpg)"


@pytest.fixture
def with_a_photo(course):
    course.write("pyproject.toml", SVG_ONLY)
    course.figure("one", 'Airflow("pipeline")')  # no lint finding: --strict passes on it
    course.chapter("ch", f'# Ch\n\n{{{{ diagram("one") }}}}\n\n{PHOTO}\n')
    return course


def test_build_and_check_both_warn_once_at_the_source_about_an_external_image(with_a_photo):
    course = with_a_photo
    build = course.run("build")
    assert build.exit_code == 0, build.output
    expected = "chapters/ch.md:5: warning: image from an external URL: https://example.com/team.jpg"
    assert build.output.count(expected) == 1, build.output
    check = course.run("check")
    assert check.exit_code == 0, check.output
    assert check.output.count("https://example.com/team.jpg") == 1, check.output
    assert expected in check.output


def test_strict_build_and_strict_check_both_fail_on_an_external_image(with_a_photo):
    course = with_a_photo
    build = course.run("build", "--strict")
    assert build.exit_code == 1, build.output
    assert "chapters/ch.md:5: image from an external URL" in build.output
    check = course.run("check", "--strict")
    assert check.exit_code == 1, check.output
    assert check.output.count("https://example.com/team.jpg") == 1, check.output


@pytest.mark.parametrize("allowed", ['"example.com"', '"https://example.com/team"',
                                     '"EXAMPLE.com/"'])
def test_a_setting_allows_an_external_image_by_host_or_path(with_a_photo, allowed):
    course = with_a_photo
    course.write("pyproject.toml", SVG_ONLY + f"external_images = [{allowed}]\n")
    build = course.run("build", "--strict")
    assert build.exit_code == 0, build.output
    check = course.run("check", "--strict")
    assert check.exit_code == 0, check.output
    assert "external" not in build.output + check.output


def test_an_allowed_path_does_not_allow_its_neighbours(with_a_photo):
    course = with_a_photo
    course.write("pyproject.toml", SVG_ONLY + 'external_images = ["example.com/photos/"]\n')
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n\n![a](https://example.com/photos/a.jpg)\n'
                         '![b](https://example.com/photos-old/b.jpg)\n'
                         '![c](https://evil.example.com.attacker.net/photos/c.jpg)\n')
    check = course.run("build", "--strict")
    assert "photos/a.jpg" not in check.output
    assert "chapters/ch.md:6: image from an external URL: https://example.com/photos-old/b.jpg" \
        in check.output
    assert "chapters/ch.md:7: image from an external URL" in check.output


@pytest.mark.parametrize("value, why", [('"example.com"', "must be a list"),
                                        ('[""]', "must be a list"),
                                        ('[3]', "must be a list")])
def test_a_wrong_external_images_setting_is_a_usage_error(with_a_photo, value, why):
    course = with_a_photo
    course.write("pyproject.toml", SVG_ONLY + f"external_images = {value}\n")
    result = course.run("build")
    assert result.exit_code == 2
    assert "external_images" in result.output and why in result.output


# -- 20. serve: the gallery's links to the figure scripts ------------------------------------------

def test_serve_opens_the_gallerys_script_links_as_text_and_nothing_else(course):
    import re
    import urllib.parse

    from conftest import running_preview
    from test_serve import request

    chapter = '# Intro\n\n{{ diagram("pipeline") }}\n\n[The script](../../diagrams/pipeline.py)\n'
    with running_preview(course, 'Airflow("tracking")', chapter) as server:
        (course.root / "diagrams" / "helper_notes.txt").write_text("not a figure\n")
        (course.root / "secret.py").write_text("SECRET = 1\n")
        gallery = request(server, "/diagrams/README.html")
        assert gallery.status == 200
        links = re.findall(r'href="([^"]*pipeline\.py[^"]*)"', gallery.body.decode())
        assert links, gallery.body.decode()[:2000]
        for link in links:
            target = urllib.parse.urljoin("/diagrams/README.html", link)
            script = request(server, target)
            assert script.status == 200, target
            assert script.getheader("Content-Type") == "text/plain; charset=utf-8"
            assert script.getheader("X-Content-Type-Options") == "nosniff"
            assert script.body == (course.root / "diagrams" / "pipeline.py").read_bytes()
        # The same link in a chapter (relative to the built chapter, as links are) opens it too.
        page = request(server, "/chapters/intro.html").body.decode()
        assert urllib.parse.urljoin("/chapters/intro.html", links[0]) in [
            urllib.parse.urljoin("/chapters/intro.html", href)
            for href in re.findall(r'href="([^"]*pipeline\.py[^"]*)"', page)]
        prefix = links[0].rsplit("/", 1)[0]
        prefix = urllib.parse.urljoin("/diagrams/README.html", prefix)
        (course.root / "diagrams" / "link.py").symlink_to(course.root / "secret.py")
        for name in ("helper_notes.txt", "link.py", "../secret.py", "%2e%2e/secret.py",
                     "missing.py", "../pyproject.toml", ".hidden.py", "pipeline.py/", ""):
            assert request(server, f"{prefix}/{name}").status == 404, name


# -- 22. init in an existing repository, and a CI workflow that installs something real ------------

EXISTING = """\
# The project's own settings: init must keep every byte of them.
[project]
name = "my-notes"   # a comment kept as written
version = "1.0"

[tool.ruff]
line-length = 100
"""


def run_init(folder: Path, *args: str):
    return CliRunner().invoke(cli, ["init", str(folder), *args], catch_exceptions=False)


def test_init_adds_the_settings_table_to_an_existing_pyproject_keeping_everything(tmp_path):
    import tomllib

    (tmp_path / "pyproject.toml").write_text(EXISTING, encoding="utf-8")
    (tmp_path / ".gitignore").write_text("dist/\n*.pyc\n", encoding="utf-8")
    result = run_init(tmp_path)
    assert result.exit_code == 0, result.output
    assert "added [tool.course-assets] to pyproject.toml" in result.output
    assert "added the lines a course needs to .gitignore" in result.output
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(EXISTING)
    data = tomllib.loads(text)
    assert data["tool"]["course-assets"] == {} and data["tool"]["ruff"]["line-length"] == 100
    # The .gitignore keeps its lines and gains only those the course needs.
    ignored = (tmp_path / ".gitignore").read_text(encoding="utf-8")
    assert ignored.startswith("dist/\n*.pyc\n") and ignored.count("*.pyc") == 1
    assert "/standalone/" in ignored
    build = CliRunner().invoke(cli, ["-C", str(tmp_path), "build"], catch_exceptions=False)
    assert build.exit_code == 0, build.output


@pytest.mark.parametrize("existing, why", [
    ("[tool.course-assets]\n", "already has a [tool.course-assets] table"),
    ('[tool]\ncourse-assets = { build = "out" }\n', "already has a [tool.course-assets] table"),
    ("[project\nname = 1\n", "pyproject.toml:1: invalid TOML"),
    ("[tool]\nx = 1\n", None),  # a [tool] table of its own: init still adds its table
])
def test_init_refuses_an_existing_table_or_invalid_toml_and_writes_nothing(tmp_path, existing,
                                                                           why):
    (tmp_path / "pyproject.toml").write_text(existing, encoding="utf-8")
    result = run_init(tmp_path)
    if why is None:
        assert result.exit_code == 0, result.output
        import tomllib
        assert tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"] == {
            "x": 1, "course-assets": {}}
        return
    assert result.exit_code == 2, result.output
    assert why in result.output
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == existing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


def test_init_leaves_a_gitignore_that_has_every_line_alone(tmp_path):
    from course_assets.scaffold import TEMPLATES

    wanted = (TEMPLATES / "gitignore.tmpl").read_bytes()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / ".gitignore").write_bytes(wanted)
    result = run_init(tmp_path)
    assert result.exit_code == 0, result.output
    assert ".gitignore" not in result.output
    assert (tmp_path / ".gitignore").read_bytes() == wanted


def test_init_in_a_pyproject_without_a_final_newline(tmp_path):
    (tmp_path / "pyproject.toml").write_bytes(b'[project]\r\nname = "x"')
    assert run_init(tmp_path).exit_code == 0
    import tomllib
    data = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))
    assert data == {"project": {"name": "x"}, "tool": {"course-assets": {}}}


def test_the_ci_workflow_fails_clearly_until_told_where_to_install_from(tmp_path):
    import subprocess

    import yaml

    assert run_init(tmp_path / "c").exit_code == 0
    workflow = yaml.safe_load((tmp_path / "c/.github/workflows/course.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    install = next(step for step in steps if "pip install" in step.get("run", ""))
    # This package was installed from a folder on this machine, which CI cannot reach: no
    # made-up package name, but a variable to set, and a clear failure while it is unset.
    assert "course-assets" != install["env"]["COURSE_ASSETS_SOURCE"]
    assert install["env"]["COURSE_ASSETS_SOURCE"] == "${{ vars.COURSE_ASSETS_SOURCE || '' }}"
    ran = subprocess.run(["bash", "-c", install["run"]], env={"COURSE_ASSETS_SOURCE": "",
                                                             "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True)
    assert ran.returncode == 1
    assert "COURSE_ASSETS_SOURCE" in ran.stdout + ran.stderr


def test_a_pinned_source_of_this_tool_becomes_the_workflows_default():
    from course_assets.scaffold import install_source

    git = {"url": "https://github.com/acme/course-assets.git",
           "vcs_info": {"vcs": "git", "commit_id": "0123abcd" * 5, "requested_revision": "main"}}
    assert install_source(git) == ("course-assets @ git+https://github.com/acme/course-assets.git"
                                   "@" + "0123abcd" * 5)
    wheel = {"url": "https://example.com/dist/course_assets-1.0-py3-none-any.whl",
             "archive_info": {"hashes": {"sha256": "ab" * 32}}}
    assert install_source(wheel) == ("course-assets @ https://example.com/dist/"
                                      "course_assets-1.0-py3-none-any.whl#sha256=" + "ab" * 32)
    assert install_source({"url": "file:///home/me/course-assets", "dir_info": {}}) == ""
    assert install_source(None) == ""


# -- 23. migrate keeps the author's choices --------------------------------------------------------

def mermaid_ink(source: str) -> str:
    import base64

    return "https://mermaid.ink/img/" + base64.b64encode(source.encode()).decode()


def with_course_style(course) -> None:
    """Give the course the style helper `init` writes (graph, node, edge and cluster_attr)."""
    from course_assets.scaffold import TEMPLATES

    course.write("diagrams/_style.py", (TEMPLATES / "style.py.tmpl").read_text())


def test_migrate_keeps_the_width_of_the_img_it_replaces(course):
    flow = mermaid_ink("graph LR\n  A[Extract] --> B[Load]\n")
    course.chapter("ch", f'# Ch\n\n<p align="center">\n  <img src="{flow}" alt="The load" '
                         f'width="500" />\n</p>\n\n<img src="{flow}" alt="Small" width="40%">\n')
    result = course.run("migrate", "chapters", "--write")
    assert result.exit_code == 0, result.output
    text = (course.root / "chapters/ch.md").read_text()
    assert '{{ diagram("the_load", width=500) }}' in text, text
    assert '{{ diagram("small", width="40%") }}' in text, text
    build = course.run("build")
    assert build.exit_code == 0, build.output
    built = course.built("chapters/ch.md").read_text()
    assert 'width="500"' in built and 'width="40%"' in built


def test_migrate_drops_a_width_that_a_figure_cannot_take_and_says_so(course):
    flow = mermaid_ink("graph LR\n  A --> B\n")
    course.chapter("ch", f'# Ch\n\n<img src="{flow}" alt="Odd" width="500);x" />\n')
    result = course.run("migrate", "chapters", "--write")
    assert result.exit_code == 0, result.output
    assert '{{ diagram("odd") }}' in (course.root / "chapters/ch.md").read_text()
    assert "width" in result.output and "500);x" in result.output
    assert course.run("build").exit_code == 0


def test_migrated_clusters_use_the_course_cluster_style(course):
    with_course_style(course)
    flow = mermaid_ink("graph LR\n  subgraph Train\n    A --> B\n  end\n  B --> C\n")
    course.chapter("ch", f"# Ch\n\n![Training]({flow})\n")
    assert course.run("migrate", "chapters", "--write").exit_code == 0
    script = (course.root / "diagrams/training.py").read_text()
    assert "from _style import cluster_attr, edge_attr, graph_attr, node_attr" in script, script
    assert 'with Cluster("Train", graph_attr=cluster_attr()):' in script, script
    assert course.run("build").exit_code == 0


def test_a_kept_fill_gets_a_readable_text_colour_in_both_themes(course):
    from svgtools import parse

    from course_assets.figlint.contrast import parse_colour, ratio

    with_course_style(course)
    flow = mermaid_ink("graph LR\n  D[Deploy] --> E[Serve]\n  style E fill:#f96\n")
    course.chapter("ch", f"# Ch\n\n![Serving]({flow})\n")
    assert course.run("migrate", "chapters", "--write").exit_code == 0
    build = course.run("build")
    assert build.exit_code == 0, build.output
    for svg in ("diagrams/serving.svg", "diagrams/serving.dark.svg"):
        root = parse(course.built(svg))
        texts = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text == "Serve"]
        assert texts, svg
        colour = texts[0].get("fill")
        assert ratio(parse_colour(colour), parse_colour("#ff9966")) >= 4.5, (svg, colour)


# -- 25. a machine without the wheel's system libraries --------------------------------------------

def real_load_error(library: str) -> OSError:
    """Return the OSError the dynamic loader gives for a library this machine lacks."""
    import ctypes

    with pytest.raises(OSError) as raised:
        ctypes.CDLL(library)
    return raised.value


def test_a_missing_system_library_is_named_with_the_package_that_has_it():
    from course_assets.render.syslibs import missing_library, missing_library_advice

    error = real_load_error("libgobject-2.0.so.0-not-here")
    assert missing_library(str(error)) == "libgobject-2.0.so.0-not-here"
    # The loader's own words for the real library, as an ImportError of the extension carries.
    text = "libgobject-2.0.so.0: cannot open shared object file: No such file or directory"
    assert missing_library(text) == "libgobject-2.0.so.0"
    advice = missing_library_advice("libgobject-2.0.so.0")
    assert "libgobject-2.0.so.0" in advice and "libglib2.0-0" in advice  # Debian, Ubuntu
    assert "glib2" in advice and "apk add glib" in advice  # Fedora, Alpine
    assert "memory" not in advice and "make build" in advice
    unknown = missing_library_advice("libsomething-else.so.3")
    assert "libsomething-else.so.3" in unknown and "package manager" in unknown
    assert missing_library("NameError: name 'x' is not defined") is None


def overlay_hiding(library: str, tmp_path: Path) -> list[str] | None:
    """Return a command prefix that runs a command where `library` is missing (a private mount
    namespace with an overlay whose whiteout hides it), or None where this machine cannot."""
    import shutil
    import subprocess

    folder = Path("/usr/lib/x86_64-linux-gnu")
    if not (folder / library).exists() or shutil.which("unshare") is None:
        return None
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    try:
        os.mknod(upper / library, 0o600 | stat.S_IFCHR, os.makedev(0, 0))  # an overlay whiteout
    except OSError:
        return None
    mount = (f"mount -t overlay overlay -o lowerdir={folder},upperdir={upper},workdir={work} "
             f"{folder}")
    prefix = ["unshare", "-m", "sh", "-c", f'{mount} && exec "$0" "$@"']
    probe = subprocess.run([*prefix, sys.executable, "-c", "import pygraphviz"],
                           capture_output=True, text=True)
    return prefix if f"{library}: cannot open shared object file" in probe.stderr else None


def test_a_build_without_glib_names_the_library_and_its_package(course, tmp_path):
    import subprocess

    prefix = overlay_hiding("libgobject-2.0.so.0", tmp_path)
    if prefix is None:
        pytest.skip("hiding a system library needs root and overlay mounts; the unit test "
                    "above covers the message")
    course.write("pyproject.toml", SVG_ONLY)
    course.figure("one")
    course.figure("two")
    result = subprocess.run([*prefix, sys.executable, "-m", "course_assets", "-C",
                             str(course.root), "build", "-j", "2"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    for name in ("one", "two"):
        line = next(line for line in result.stderr.splitlines() + result.stdout.splitlines()
                    if line.startswith(f"diagrams/{name}.py"))
        assert "libgobject-2.0.so.0" in line and "libglib2.0-0" in line, line
        assert "memory" not in line and "better split" not in line, line
    # And the check `make build` runs first says the same, with the command that fixes it.
    check = subprocess.run([*prefix, sys.executable, "-m", "course_assets.render.syslibs"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 1
    assert "libgobject-2.0.so.0" in check.stderr and "apt-get install" in check.stderr


def test_the_system_library_check_passes_where_the_wheel_loads():
    import subprocess

    result = subprocess.run([sys.executable, "-m", "course_assets.render.syslibs"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# -- adversarial: what a hostile new author tries ---------------------------------------------------

@pytest.mark.parametrize("url, allowed", [
    ("https://example.com@evil.net/x.jpg", False),  # userinfo: the host is evil.net
    ("https://example.com/team/../secret.jpg", False),  # climbs out of the allowed prefix
    ("https://example.com/team/%2e%2e/secret.jpg", False),  # the same, percent-encoded
    ("https://example.com/teamwork.jpg", False),  # a prefix of a name is not the folder
    ("HTTPS://EXAMPLE.COM/team/a.jpg", True),  # scheme and host without case
    ("//example.com/team/a.jpg", True),  # scheme-relative
    ("http://example.com:8080/team/a.jpg", True),  # a port is the same host
    ("https://sub.example.com/team/a.jpg", False),  # a subdomain is another host
])
def test_an_allowed_prefix_cannot_be_tricked(with_a_photo, url, allowed):
    course = with_a_photo
    course.write("pyproject.toml", SVG_ONLY + 'external_images = ["example.com/team/"]\n')
    course.chapter("ch", f'# Ch\n\n{{{{ diagram("one") }}}}\n\n![x]({url})\n')
    result = course.run("check", "--strict")
    assert ("image from an external URL" not in result.output) is allowed, result.output


@pytest.mark.parametrize("value", ['["https://"]', '["/team/"]', '["  "]'])
def test_an_external_images_entry_without_a_host_is_refused(with_a_photo, value):
    course = with_a_photo
    course.write("pyproject.toml", SVG_ONLY + f"external_images = {value}\n")
    result = course.run("check")
    assert result.exit_code == 2, result.output
    assert "external_images" in result.output


def test_an_external_image_a_template_makes_is_reported_once_at_the_built_chapter(with_a_photo):
    course = with_a_photo
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n\n![x]({{ "https://cdn.example/a.png" }})\n')
    assert course.run("build").exit_code == 0
    check = course.run("check", "--strict")
    assert check.exit_code == 1
    assert check.output.count("https://cdn.example/a.png") == 1, check.output
    assert "build/chapters/ch.md:8: image from an external URL" in check.output


def test_external_images_in_code_and_linked_images_are_reported_as_written(with_a_photo):
    course = with_a_photo
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n\n`![x](https://a.example/code.png)`\n\n'
                         '```\n![y](https://a.example/fence.png)\n```\n\n'
                         '[![z](https://a.example/linked.png)](https://a.example/)\n')
    result = course.run("build")
    assert "code.png" not in result.output and "fence.png" not in result.output
    assert result.output.count("https://a.example/linked.png") == 1, result.output


def test_build_of_a_helper_or_a_path_names_the_figure_or_refuses(beside_a_broken_figure):
    course = beside_a_broken_figure
    course.write("diagrams/_helper.py", "X = 1\n")
    helper = course.run("build", "_helper")
    assert helper.exit_code == 2 and "unknown figure '_helper'" in helper.output
    by_path = course.run("build", "diagrams/good.py", "good")
    assert by_path.exit_code == 0, by_path.output
    assert by_path.output.count("built good") == 1


@pytest.mark.parametrize("existing", [
    "tool = 1\n",  # a [tool] that is not a table
    "[[tool]]\nname = 'x'\n",  # an array of tables named tool
    'tool = { other = 1 }\n',  # an inline table cannot take another table
])
def test_init_refuses_a_pyproject_whose_tool_cannot_take_the_table(tmp_path, existing):
    (tmp_path / "pyproject.toml").write_text(existing, encoding="utf-8")
    result = run_init(tmp_path)
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output
    assert "pyproject.toml" in result.output and "by hand" in result.output
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == existing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


@pytest.mark.parametrize("make, why", [
    (lambda path: path.mkdir(), "not a plain file"),
    (lambda path: path.write_bytes(b"[project]\nname = '\xff'\n"), "UTF-8"),
    (lambda path: path.write_bytes("\ufeff[project]\n".encode()), "invalid TOML"),
])
def test_init_refuses_a_pyproject_it_cannot_read(tmp_path, make, why):
    make(tmp_path / "pyproject.toml")
    result = run_init(tmp_path)
    assert result.exit_code == 2, result.output
    assert why in result.output and "nothing was written" in result.output
    assert not (tmp_path / "diagrams").exists()


def test_init_keeps_the_mode_of_the_pyproject_it_adds_to(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[project]\nname = 'x'  # last line, no newline", encoding="utf-8")
    pyproject.chmod(0o640)
    assert run_init(tmp_path).exit_code == 0
    assert stat.S_IMODE(pyproject.stat().st_mode) == 0o640
    import tomllib
    assert tomllib.loads(pyproject.read_text())["project"] == {"name": "x"}


def test_init_twice_in_an_existing_repository_refuses_the_second_time(tmp_path):
    (tmp_path / "pyproject.toml").write_text(EXISTING, encoding="utf-8")
    assert run_init(tmp_path).exit_code == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = run_init(tmp_path)
    assert again.exit_code == 2 and "already has a [tool.course-assets] table" in again.output
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_serve_refuses_odd_script_requests_and_answers_head(course):
    from conftest import running_preview
    from test_serve import request

    with running_preview(course, 'Airflow("tracking")', "# Intro\n") as server:
        (course.root / "diagrams" / "sub").mkdir()
        (course.root / "diagrams" / "sub" / "deep.py").write_text("X = 1\n")
        for path in ("/_preview/scripts/sub%2Fdeep.py", "/_preview/scripts/sub/deep.py",
                     "/_preview/scripts/..%2f..%2fpyproject.toml", "/_preview/scripts/%00.py",
                     "/_preview/scripts/pipeline.PY", "/_preview/scripts//pipeline.py",
                     "/_preview/scripts/pipeline.py%00.txt"):
            assert request(server, path).status == 404, path
        head = request(server, "/_preview/scripts/pipeline.py?v=1", method="HEAD")
        assert head.status == 200 and head.body == b""


def test_the_script_reader_never_waits_on_a_fifo(tmp_path):
    import time

    from course_assets.preview.files import read_regular, script_file

    os.mkfifo(tmp_path / "pipe.py")
    started = time.monotonic()
    found = script_file(tmp_path, "pipe.py")
    assert found is not None and read_regular(found, 1 << 20) is None
    assert time.monotonic() - started < 5
    (tmp_path / "big.py").write_bytes(b"#" * (1 << 20 | 1))
    assert read_regular(tmp_path / "big.py", 1 << 20) is None


@pytest.mark.parametrize("width, call", [
    ("500px", 'diagram("w", width=500)'), (" 500 ", 'diagram("w", width=500)'),
    ("0", 'diagram("w")'), ("-5", 'diagram("w")'), ("100%", 'diagram("w", width="100%")'),
    ('5"00', 'diagram("w")'),
])
def test_migrate_reads_odd_widths_safely(course, width, call):
    flow = mermaid_ink("graph LR\n  A --> B\n")
    quoted = width.replace('"', "&quot;")
    course.chapter("ch", f'# Ch\n\n<img src="{flow}" alt="W" width="{quoted}" />\n')
    result = course.run("migrate", "chapters", "--write")
    assert result.exit_code == 0, result.output
    assert "{{ " + call + " }}" in (course.root / "chapters/ch.md").read_text()
    assert course.run("build").exit_code == 0


@pytest.mark.parametrize("fill", ["none", "transparent", "rgba(255,0,0,0.1)", "#000", "white",
                                  "#12345678"])
def test_migrate_gives_readable_text_on_odd_fills(course, fill):
    flow = mermaid_ink(f"graph LR\n  A --> B\n  style B fill:{fill}\n")
    course.chapter("ch", f"# Ch\n\n![Odd]({flow})\n")
    result = course.run("migrate", "chapters", "--write")
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    build = course.run("build")
    assert build.exit_code == 0, build.output
    assert "text-contrast" not in build.output, build.output


def test_external_images_hidden_in_comments_references_and_srcset(with_a_photo):
    course = with_a_photo
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n\n'
                         '<!-- ![x](https://evil.example/hidden.png) -->\n\n'
                         '<img src="HTTPS://Evil.Example/a.png">\n\n![ref][r]\n\n'
                         '[r]: https://evil.example/ref.png\n\n'
                         '<picture><source srcset="https://evil.example/s.png">'
                         '<img src="../../diagrams/one.svg"></picture>\n')
    build, check = course.run("build"), course.run("check")
    for result in (build, check):
        assert "hidden.png" not in result.output  # a comment shows nothing
        for line, url in ((7, "HTTPS://Evil.Example/a.png"), (9, "https://evil.example/ref.png"),
                          (13, "https://evil.example/s.png")):
            assert result.output.count(f"chapters/ch.md:{line}: warning: image from an "
                                       f"external URL: {url}") == 1, result.output


def test_a_named_build_still_fails_for_a_chapter_it_writes_that_fails(beside_a_broken_figure):
    course = beside_a_broken_figure
    course.chapter("one", '# One\n\n{{ diagram("good") }}\n\n{{ undefined_thing }}\n')
    result = course.run("build", "good")
    assert result.exit_code == 1
    assert "chapters/one.md:5: undefined variable" in result.output, result.output


def test_a_strict_named_build_fails_only_for_what_it_made(course):
    course.write("pyproject.toml", SVG_ONLY)
    course.figure("clean", 'Airflow("pipeline")')
    course.figure("noisy")  # its icon vanishes into its background: a lint finding
    course.chapter("a", '# A\n\n{{ diagram("clean") }}\n')
    course.chapter("b", '# B\n\n{{ diagram("noisy") }}\n\n![p](https://example.com/p.jpg)\n')
    assert course.run("build", "--strict").exit_code == 1  # the whole course: both fail it
    course.figure("clean", 'Airflow("changed")')
    named = course.run("build", "--strict", "clean")
    assert named.exit_code == 0, named.output
    assert "example.com" not in named.output
    assert "1 more figure lint warning" in named.output
    course.figure("noisy", 'Mlflow("changed")')
    assert course.run("build", "--strict", "noisy").exit_code == 1


# -- every case above in one course --------------------------------------------------------------------

def test_a_course_with_every_case_builds_checks_and_serves_without_an_internal_error(course):
    import subprocess
    import urllib.parse

    from conftest import running_preview
    from test_serve import request

    course.write("pyproject.toml", SVG_ONLY + 'external_images = ["photos.example.com"]\n')
    course.figure("good", 'Airflow("pipeline")')
    course.figure("bad", "Mlflow(undefined_name)")
    flow = mermaid_ink("graph LR\n  subgraph Train\n    D[Deploy] --> E[Serve]\n  end\n"
                       "  style E fill:#f96\n")
    with_course_style(course)
    course.chapter("one", '# One\n\n{{ diagram("good") }}\n\n{{ diagram("bad") }}\n\n'
                          '![Team](https://example.com/team.jpg)\n\n'
                          '![Allowed](https://photos.example.com/a.jpg)\n\n'
                          f'<img src="{flow}" alt="Serving" width="500" />\n\n'
                          '[The script](../../diagrams/good.py)\n')
    outputs = []
    migrate = course.run("migrate", "chapters", "--write")
    named = course.run("build", "good")
    full = course.run("build")
    check = course.run("check")
    outputs += [migrate.output, named.output, full.output, check.output]
    assert migrate.exit_code == 0 and named.exit_code == 0 and full.exit_code == 1
    assert check.exit_code == 1
    assert '{{ diagram("serving", width=500) }}' in (course.root / "chapters/one.md").read_text()
    assert 'width="500"' in course.built("chapters/one.md").read_text()
    assert course.built("diagrams/serving.svg").is_file() and course.built("diagrams/good.svg")
    assert "diagrams/bad.py:7: NameError" in check.output
    assert check.output.count("https://example.com/team.jpg") == 1
    assert "photos.example.com" not in check.output
    api = subprocess.run([sys.executable, "-c", "import course_assets, sys\ntry:\n"
                          "    course_assets.build_course(sys.argv[1])\n"
                          "except course_assets.CourseAssetsError as error:\n"
                          "    print(int(error.exit_code))", "/nowhere"],
                         capture_output=True, text=True, timeout=60)
    assert api.stdout.strip() == "2", api.stderr
    with running_preview(course, 'Airflow("pipeline")', (course.root / "chapters/one.md")
                         .read_text()) as server:
        gallery = request(server, "/diagrams/README.html").body.decode()
        link = next(href for href in __import__("re").findall(r'href="([^"]+\.py)"', gallery))
        assert request(server, urllib.parse.urljoin("/diagrams/README.html", link)).status == 200
    assert not any("internal error" in output for output in outputs)


def test_make_build_checks_the_system_libraries_before_building():
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    repo = Path(__file__).resolve().parents[1]
    for target in ("build", "test"):
        planned = subprocess.run(["make", "-n", "-W", "pyproject.toml", target], cwd=repo,
                                 capture_output=True, text=True, timeout=60).stdout
        lines = [line for line in planned.splitlines() if "course_assets.render.syslibs" in line
                 or line.endswith("course-assets build") or "-m pytest" in line]
        assert lines and "course_assets.render.syslibs --install" in lines[0], planned


def test_an_image_inside_the_chapter_as_a_data_uri_is_not_external(with_a_photo):
    course = with_a_photo
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42"
             "mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    course.chapter("ch", f'# Ch\n\n{{{{ diagram("one") }}}}\n\n![dot]({pixel})\n')
    assert course.run("build", "--strict").exit_code == 0
    check = course.run("check", "--strict")
    assert check.exit_code == 0, check.output
