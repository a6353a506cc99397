"""Say where the installed diagrams library keeps a class a script failed to import.

Icon classes move between modules across library versions (Fluentd went from
`diagrams.onprem.logging` to `diagrams.onprem.aggregator`); examples copied from older docs
then fail with an ImportError that names only the old place.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

CANNOT_IMPORT = re.compile(r"cannot import name '(?P<name>[^']+)' from '(?P<module>[^']+)'")
# Top-level classes and aliases (`Fluentd = FluentD`) of a module, read without importing it.
DEFINITION = re.compile(r"^(?:class\s+(?P<cls>\w+)\b|(?P<alias>[A-Z]\w*)\s*=\s*\w+\s*$)",
                        re.MULTILINE)


def import_hint(exc: ImportError) -> str | None:
    """Return the ImportError of a diagrams name, reworded to say where it is now."""
    match = CANNOT_IMPORT.search(str(exc))
    if match and match["module"].split(".")[0] == "diagrams":
        return _moved_name(match["name"], match["module"])
    module = exc.name or ""
    if isinstance(exc, ModuleNotFoundError) and module.split(".")[0] == "diagrams":
        return _missing_module(module)
    return None


def _moved_name(name: str, module: str) -> str:
    places = library_names()
    where = [m for m in places.get(name, ()) if m != module]
    message = f"cannot import name {name!r} from {module!r}"
    version = _version()
    if where:
        best = where[0]
        also = f" (also in {', '.join(where[1:])})" if len(where) > 1 else ""
        return (f"{message}: the installed diagrams {version} has it in {best}{also}; "
                f"write `from {best} import {name}`")
    folded = {n.casefold(): n for n in places}
    if name.casefold() in folded:
        real = folded[name.casefold()]
        return (f"{message}: the installed diagrams {version} spells it {real!r}; write "
                f"`from {places[real][0]} import {real}`")
    close = difflib.get_close_matches(name, list(places), n=4, cutoff=0.6)
    if close:
        shown = ", ".join(f"{places[n][0]}.{n}" for n in close)
        return (f"{message}: the installed diagrams {version} has no class of that name; "
                f"the closest are {shown}")
    return (f"{message}: the installed diagrams {version} has no class of that name; find "
            "another icon in its documentation")


def _missing_module(module: str) -> str:
    modules = sorted({m for found in library_names().values() for m in found})
    close = difflib.get_close_matches(module, modules, n=3, cutoff=0.6)
    hint = f"; the closest are {', '.join(close)}" if close else ""
    return f"no module named {module!r} in the installed diagrams {_version()}{hint}"


@functools.cache
def library_names() -> dict[str, tuple[str, ...]]:
    """Map every class name the installed diagrams library defines to the modules defining it."""
    import diagrams

    package = Path(diagrams.__file__).parent
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        module = ".".join(parts)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for match in DEFINITION.finditer(text):
            name = match["cls"] or match["alias"]
            if not name.startswith("_"):
                found.setdefault(name, []).append(module)
    return {name: tuple(modules) for name, modules in found.items()}


def _version() -> str:
    from course_assets.state.inputs import library_versions

    return library_versions()["diagrams"]
