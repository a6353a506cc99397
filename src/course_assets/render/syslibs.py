"""The system libraries the pygraphviz wheel's Graphviz needs, and what to do when one is missing.

The wheel bundles Graphviz and most of what it draws with, but not glib, the X11 client
libraries and a few others that every desktop Linux has and slim container images lack. Without
one, `import pygraphviz` fails with the loader's "libX.so.N: cannot open shared object file".

`python -m course_assets.render.syslibs [--install]` (run by `make build`) checks that they
load, and installs the missing ones with apt-get, dnf or apk, or prints the command that does.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# What the dynamic loader says when a library is not on this machine (dlopen(3) and ld.so).
_NOT_FOUND = re.compile(r"([\w.+-]+\.so(?:\.[\w.-]+)?): cannot open shared object file")

# Each library the wheel loads from the system, and the package that has it, per package
# manager: apt (Debian, Ubuntu; apt picks the renamed "t64" package where that is the one),
# dnf (Fedora, RHEL) and apk (Alpine).
PACKAGES: dict[str, dict[str, str]] = {
    "libglib-2.0.so.0": {"apt": "libglib2.0-0", "dnf": "glib2", "apk": "glib"},
    "libgobject-2.0.so.0": {"apt": "libglib2.0-0", "dnf": "glib2", "apk": "glib"},
    "libX11.so.6": {"apt": "libx11-6", "dnf": "libX11", "apk": "libx11"},
    "libXext.so.6": {"apt": "libxext6", "dnf": "libXext", "apk": "libxext"},
    "libXrender.so.1": {"apt": "libxrender1", "dnf": "libXrender", "apk": "libxrender"},
    "libxcb.so.1": {"apt": "libxcb1", "dnf": "libxcb", "apk": "libxcb"},
    "libXau.so.6": {"apt": "libxau6", "dnf": "libXau", "apk": "libxau"},
    "libXdmcp.so.6": {"apt": "libxdmcp6", "dnf": "libXdmcp", "apk": "libxdmcp"},
    "libexpat.so.1": {"apt": "libexpat1", "dnf": "expat", "apk": "libexpat"},
    "libffi.so.8": {"apt": "libffi8", "dnf": "libffi", "apk": "libffi"},
    "libpcre2-8.so.0": {"apt": "libpcre2-8-0", "dnf": "pcre2", "apk": "pcre2"},
    "libbsd.so.0": {"apt": "libbsd0", "dnf": "libbsd", "apk": "libbsd"},
    "libmd.so.0": {"apt": "libmd0", "dnf": "libmd", "apk": "libmd"},
    "libz.so.1": {"apt": "zlib1g", "dnf": "zlib", "apk": "zlib"},
    "libstdc++.so.6": {"apt": "libstdc++6", "dnf": "libstdc++", "apk": "libstdc++"},
    "libgcc_s.so.1": {"apt": "libgcc-s1", "dnf": "libgcc", "apk": "libgcc"},
}
MANAGERS = {"apt": "apt-get install -y", "dnf": "dnf install -y", "apk": "apk add"}


def missing_library(error: str) -> str | None:
    """Return the library a loader error names as missing, or None for any other error."""
    match = _NOT_FOUND.search(error)
    return match.group(1) if match else None


def missing_library_advice(library: str) -> str:
    """Say which system library Graphviz lacks, the package that has it, and how to install it."""
    head = (f"the Graphviz that pygraphviz bundles cannot load the system library {library}, "
            "which this machine lacks (slim container images leave it out)")
    packages = PACKAGES.get(library)
    if packages is None:
        return (f"{head}: install the package that provides {library} with your package "
                "manager, or run `make build`, which checks for it")
    commands = "; ".join(f"{MANAGERS[manager]} {package}"
                         for manager, package in packages.items())
    return (f"{head}: install the package {packages['apt']} ({commands}), or run `make build`, "
            "which installs it")


def wheel_files() -> list[Path]:
    """Return the compiled parts of the pygraphviz wheel: its extension and bundled libraries."""
    spec = importlib.util.find_spec("pygraphviz")
    if spec is None or spec.origin is None:
        return []
    package = Path(spec.origin).parent
    bundled = package.parent / "pygraphviz.libs"
    found = sorted(package.glob("_graphviz*.so"))
    if bundled.is_dir():
        found += sorted(p for p in bundled.iterdir() if ".so" in p.name)
    return found


def missing_libraries() -> list[str]:
    """Return every system library the wheel needs and cannot load here (empty: all load)."""
    missing: set[str] = set()
    ldd = shutil.which("ldd")
    if ldd is not None:
        for part in wheel_files():
            # ldd lists every library a file needs, "=> not found" for those it cannot find.
            result = subprocess.run([ldd, str(part)], capture_output=True, text=True,
                                    check=False)
            missing.update(line.split()[0] for line in result.stdout.splitlines()
                           if "=> not found" in line)
    if not missing:
        # No ldd (or it saw nothing): the import itself names the first library missing.
        result = subprocess.run([sys.executable, "-c", "import pygraphviz"],
                                capture_output=True, text=True, check=False)
        first = missing_library(result.stderr)
        if first is not None:
            missing.add(first)
    return sorted(missing)


def package_manager() -> str | None:
    """Return the package manager of this machine that PACKAGES knows, or None."""
    for manager, program in (("apt", "apt-get"), ("dnf", "dnf"), ("apk", "apk")):
        if shutil.which(program):
            return manager
    return None


def install_command(manager: str, libraries: list[str]) -> list[str] | None:
    """Return the command that installs `libraries` with `manager`; None for an unknown one."""
    packages = []
    for library in libraries:
        package = PACKAGES.get(library, {}).get(manager)
        if package is None:
            return None
        if package not in packages:
            packages.append(package)
    return [*MANAGERS[manager].split(), *packages]


def main(argv: list[str] | None = None) -> int:
    """Check the wheel's system libraries; with --install, install what is missing."""
    parser = argparse.ArgumentParser(prog="python -m course_assets.render.syslibs",
                                     description=main.__doc__)
    parser.add_argument("--install", action="store_true",
                        help="install the missing libraries (as root, or with sudo -n)")
    args = parser.parse_args(argv)
    missing = missing_libraries()
    if not missing:
        return 0
    for library in missing:
        print(f"error: {missing_library_advice(library)}", file=sys.stderr)
    manager = package_manager()
    command = install_command(manager, missing) if manager else None
    if command is None:
        print("Install the packages named above with your package manager, then try again.",
              file=sys.stderr)
        return 1
    if manager == "apt":
        command = ["sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                   + " ".join(command)]
    sudo: list[str] = []
    if os.geteuid() != 0:
        can_sudo = shutil.which("sudo") is not None and subprocess.run(
            ["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
        sudo = ["sudo", "-n"] if can_sudo else []
        if not can_sudo:
            args.install = False
    shown = " ".join(["sudo", *command] if os.geteuid() != 0 else command)
    if not args.install:
        print(f"Run this, then try again: {shown}", file=sys.stderr)
        return 1
    print(f"installing: {shown}", file=sys.stderr)
    if subprocess.run([*sudo, *command], check=False).returncode != 0 or missing_libraries():
        print(f"error: the install did not make them load; run it yourself: {shown}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
