"""build/manifest.json: what a write and a read keep, and how a damaged one is reported."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from course_assets.errors import ConfigError, ExitCode
from course_assets.state.manifest import (
    ChapterRecord,
    DerivedRecord,
    FigureRecord,
    Manifest,
    load_manifest,
)


def full_manifest() -> Manifest:
    flow = FigureRecord(
        script="diagrams/flow.py", helpers=("diagrams/_style.py", "icons/logo.png"),
        inputs="a" * 64, title="Flow", description="Data flows — left to right.",
        outputs={"build/diagrams/flow.svg": "1" * 64, "build/diagrams/flow.png": "2" * 64})
    intro = ChapterRecord(source="chapters/intro.md", figures=("flow",), inputs="b" * 64,
                          outputs={"build/chapters/intro.md": "3" * 64})
    return Manifest(
        environment={"graphviz": "9.0.0", "course-assets": "0.1.0"},
        figures={"flow": flow}, chapters={"intro": intro},
        pending={"build/diagrams/flow.svg": "4" * 64},
        gallery=DerivedRecord("c" * 64, {"build/diagrams/README.md": "5" * 64}),
        slides={"intro": DerivedRecord("d" * 64, {"build/slides/intro.html": "6" * 64,
                                                  "build/slides/intro.marp.md": "7" * 64})},
    )


def test_a_manifest_reads_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(full_manifest().to_json())
    assert load_manifest(path) == full_manifest()


def test_an_empty_manifest_reads_back_and_leaves_out_what_it_does_not_have(
        tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(Manifest().to_json())
    assert load_manifest(path) == Manifest()
    assert set(json.loads(path.read_bytes())) == {"format", "environment", "figures", "chapters"}


def test_the_same_manifest_is_the_same_bytes_whatever_order_it_was_filled_in() -> None:
    manifest = full_manifest()
    shuffled = Manifest(
        environment=dict(reversed(manifest.environment.items())),
        figures={name: FigureRecord(r.script, r.helpers, r.inputs, r.title, r.description,
                                    dict(reversed(r.outputs.items())))
                 for name, r in manifest.figures.items()},
        chapters=manifest.chapters, pending=manifest.pending, gallery=manifest.gallery,
        slides={name: DerivedRecord(r.inputs, dict(reversed(r.outputs.items())))
                for name, r in manifest.slides.items()},
    )
    assert shuffled.to_json() == manifest.to_json()
    assert manifest.to_json().endswith(b"}\n")


def test_text_is_stored_as_utf8_not_escaped() -> None:
    assert "Data flows — left to right.".encode() in full_manifest().to_json()


def test_no_manifest_is_an_empty_one(tmp_path: Path) -> None:
    assert load_manifest(tmp_path / "manifest.json") == Manifest()


def test_owned_outputs_are_every_file_any_record_wrote() -> None:
    assert sorted(full_manifest().owned_outputs()) == [
        "build/chapters/intro.md", "build/diagrams/README.md", "build/diagrams/flow.png",
        "build/diagrams/flow.svg", "build/slides/intro.html", "build/slides/intro.marp.md"]
    # What a stopped build was about to write is not owned until a manifest records it.
    pending_only = Manifest(pending={"build/diagrams/x.svg": "0" * 64})
    assert pending_only.owned_outputs() == {}


def damaged_variants() -> dict[str, bytes]:
    good = json.loads(full_manifest().to_json())
    no_outputs = json.loads(json.dumps(good))
    del no_outputs["figures"]["flow"]["outputs"]
    wrong_type = {**good, "figures": ["flow"]}
    null_record = {**good, "chapters": {"intro": None}}
    return {
        "not JSON": b'{"format": 1, "figures": {',
        "not an object": b"[1, 2, 3]\n",
        "an older format": json.dumps({**good, "format": 0}).encode(),
        "no format": json.dumps({"figures": {}}).encode(),
        "a record without its outputs": json.dumps(no_outputs).encode(),
        "figures as a list": json.dumps(wrong_type).encode(),
        "a null record": json.dumps(null_record).encode(),
        "not UTF-8": b'{"format": 1, "environment": {"x": "\xff"}}',
    }


@pytest.mark.parametrize("damage", sorted(damaged_variants()))
def test_a_damaged_manifest_is_one_usage_error_that_says_how_to_recover(
        tmp_path: Path, damage: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(damaged_variants()[damage])
    with pytest.raises(ConfigError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: the manifest is damaged (")
    assert "delete it and run `course-assets build --force`" in message
    assert caught.value.exit_code is ExitCode.USAGE


def test_an_unreadable_manifest_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.mkdir()  # a folder where the file should be
    with pytest.raises(ConfigError, match=r"manifest\.json: cannot read the manifest"):
        load_manifest(path)


def test_the_manifest_is_written_as_one_indented_json_document() -> None:
    # Written from its fields' parts (see `joined_json`), it must stay the bytes one
    # `json.dumps` of the whole writes: reviewers read it, and a build's bytes never churn.
    manifest = replace(full_manifest(), failures={"flow": "diagrams/flow.py:3: a\nb"},
                       pending={"build/diagrams/é.svg": "8" * 64})
    whole = json.dumps(manifest.sections(), indent=2, sort_keys=True, ensure_ascii=False)
    assert manifest.to_json() == (whole + "\n").encode()
    assert Manifest().to_json() == (json.dumps(Manifest().sections(), indent=2, sort_keys=True)
                                    + "\n").encode()


def test_files_announced_ahead_of_the_commit_leave_the_manifest_a_whole_build_writes(
        tmp_path: Path) -> None:
    from course_assets.outputs import OutputPaths
    from course_assets.state.commit import AheadOfCommit
    from course_assets.state.files import FileHashes, OutputFolder

    root = tmp_path / "course"
    folder = OutputFolder(OutputPaths(root, root / "build"))
    ahead = AheadOfCommit(folder, full_manifest(), FileHashes())
    ahead.write("build/diagrams/new.svg", b"<svg>new</svg>")
    ahead.write("build/diagrams/flow.svg", b"<svg>flow, drawn again</svg>")
    written = folder.outputs.manifest.read_bytes()
    assert written == ahead.manifest.to_json()
    assert set(load_manifest(folder.outputs.manifest).pending) == {
        "build/diagrams/flow.svg", "build/diagrams/new.svg"}
    ahead.undo("build/diagrams/new.svg")
    assert folder.outputs.manifest.read_bytes() == ahead.manifest.to_json()
    assert load_manifest(folder.outputs.manifest).pending == {
        "build/diagrams/flow.svg": ahead.manifest.pending["build/diagrams/flow.svg"]}
    assert not (root / "build/diagrams/new.svg").exists()


@pytest.mark.parametrize("text", ["tab\there", "back\\slash", 'a "quote"', "line\r\nbreak",
                                  "emoji 😀", "\u2028\u2029", "\x00\x1b\x7f", "}\n  {", ""])
def test_awkward_text_and_empty_fields_keep_the_manifest_one_json_dump(text: str) -> None:
    from course_assets.state.manifest import encoded_section, joined_json

    manifest = replace(full_manifest(), environment={text: text, "empty": ""},
                       failures={text or "x": text}, pending={f"build/{text}.svg": text})
    whole = json.dumps(manifest.sections(), indent=2, sort_keys=True, ensure_ascii=False)
    assert manifest.to_json() == (whole + "\n").encode()
    nested = {"format": 1, "figures": {}, "chapters": {"a": {"b": [], "c": [{}], text: [[]]}},
              "environment": {text: {"": {}}}}
    expected = json.dumps(nested, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert joined_json({k: encoded_section(v) for k, v in nested.items()}) == expected.encode()
