"""A build with nothing to do does the least: no chapter parsed, nothing written, same answer."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO, Course

# Runs `build -q` in-process in a fresh interpreter, then says which parsers, readers of built
# chapters or figures and deck makers it loaded.
PROBE = (
    "import sys\n"
    "from course_assets.cli import cli\n"
    "try:\n"
    "    cli(['-C', sys.argv[1], 'build', '-q'], standalone_mode=False)\n"
    "except SystemExit:\n"
    "    pass\n"
    "heavy = ('markdown_it', 'jinja2', 'PIL', 'course_assets.publish.assets',\n"
    "         'course_assets.publish.making', 'course_assets.figlint.reader')\n"
    "others = [f'course_assets.commands.{m}' for m in ('check', 'init', 'listing', 'migrate',\n"
    "                                                  'serve', 'slides', 'watch')]\n"
    "print(' '.join(m for m in (*heavy, *others) if m in sys.modules) or 'none')\n"
)


def loaded_by_a_build(course: Course) -> str:
    result = subprocess.run([sys.executable, "-c", PROBE, str(course.root)], capture_output=True,
                            text=True, timeout=120, check=False,
                            env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def photo_course(course: Course) -> None:
    from PIL import Image

    (course.root / "chapters" / "img").mkdir()
    for name, colour in (("team", "navy"), ("office", "green")):
        Image.new("RGB", (40, 30), colour).save(course.root / "chapters" / "img" / f"{name}.png")
    course.figure("one")
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n\n## Team\n\n'
                         "![Our team](../../chapters/img/team.png)\n")


def test_a_build_with_nothing_to_do_loads_no_parser_image_library_deck_maker_or_other_command(
        course: Course) -> None:
    photo_course(course)
    assert course.run("build", "-q").exit_code == 0
    # The second build remembers which images the built chapter shows; the third reads it all
    # from that memory and the files' stat.
    assert loaded_by_a_build(course) == "none"
    assert loaded_by_a_build(course) == "none"
    assert course.run("check").exit_code == 0


def test_a_chapter_that_shows_another_photo_has_decks_that_follow_that_photo(
        course: Course) -> None:
    from PIL import Image

    photo_course(course)
    assert course.run("build", "-q").exit_code == 0
    assert course.run("build", "-q").exit_code == 0  # remembers the images of the chapter
    course.chapter("ch", '# Ch\n\n{{ diagram("one") }}\n\n## Office\n\n'
                         "![Our office](../../chapters/img/office.png)\n")
    assert "built slides ch" in course.run("build").output
    deck = course.built("slides/ch.html").read_bytes()
    # The decks now depend on the office photo, not on the team photo.
    Image.new("RGB", (40, 30), "orange").save(course.root / "chapters" / "img" / "team.png")
    assert "built slides ch" not in course.run("build").output
    Image.new("RGB", (40, 30), "red").save(course.root / "chapters" / "img" / "office.png")
    result = course.run("build")
    assert "built slides ch" in result.output, result.output
    assert course.built("slides/ch.html").read_bytes() != deck
    assert course.run("check").exit_code == 0


def test_a_lost_hash_cache_only_costs_time(course: Course) -> None:
    photo_course(course)
    assert course.run("build", "-q").exit_code == 0
    decks = course.built("slides/ch.html").read_bytes()
    course.built(".hash-cache.json").write_text('{"\\u0000derived": ["not", "a", "map"]}')
    result = course.run("build")
    assert result.exit_code == 0 and "built slides" not in result.output, result.output
    assert course.built("slides/ch.html").read_bytes() == decks
    assert course.run("check").exit_code == 0
