# Everything a fresh machine needs: `make build` builds the course, `make test` tests the tool.
# Both create .venv and install the package (its pygraphviz wheel bundles Graphviz); `make test`
# also installs Chromium for the browser tests, LibreOffice (Draw and Impress), poppler and
# librsvg for the slide-tool and PowerPoint deck tests, and a system Graphviz for the tests of plain `python diagrams/x.py` runs (the diagrams library
# needs `dot`); `make bench` also installs that Graphviz, to compare against.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed
TESTING := $(VENV)/.installed-test

.PHONY: build test check check-rebuild bench watch serve slides docs typecheck graphviz chromium libreoffice librsvg impress poppler system-libraries clean

build: $(RUNTIME) system-libraries
	$(BIN)/course-assets build

test: $(TESTING) chromium libreoffice impress poppler librsvg graphviz system-libraries
	$(BIN)/python -m pytest

check: $(RUNTIME)
	$(BIN)/course-assets check

# Re-renders every output in memory and compares the bytes with build/ (CI runs it).
check-rebuild: $(RUNTIME)
	$(BIN)/course-assets check --rebuild

# The PowerPoint decks' cost first: run.py exits non-zero when it misses a target.
bench: $(TESTING) graphviz chromium
	$(BIN)/python bench/pptx_decks.py
	$(BIN)/python bench/run.py

watch: $(RUNTIME)
	$(BIN)/course-assets watch

# Builds what is out of date, as `make build` does, then names each chapter's slide decks.
slides: $(RUNTIME)
	$(BIN)/course-assets slides

# A live preview on http://127.0.0.1:8000/; pass options with SERVE_ARGS="--port 0 --open".
serve: $(RUNTIME)
	$(BIN)/course-assets serve $(SERVE_ARGS)

# Rewrites the command and exit-code tables (docs/commands.md) from the code; the tests fail when they drift.
docs: $(RUNTIME)
	$(BIN)/python scripts/readme_tables.py

# mypy in strict mode over src/ (its settings are in pyproject.toml).
typecheck: $(TESTING)
	$(BIN)/python -m mypy

$(RUNTIME): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "course-assets needs Python 3.11 or newer; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(TESTING): $(RUNTIME) pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

graphviz:
	@sh scripts/ensure-system-package.sh graphviz

# The system libraries the pygraphviz wheel's Graphviz loads (glib, X11 client libraries), which
# slim container images lack: installed with apt-get, dnf or apk, or the command is printed.
system-libraries: $(RUNTIME)
	@$(BIN)/python -m course_assets.render.syslibs --install

chromium:
	@sh scripts/ensure-system-package.sh chromium

libreoffice:
	@sh scripts/ensure-system-package.sh libreoffice

librsvg:
	@sh scripts/ensure-system-package.sh librsvg

impress:
	@sh scripts/ensure-system-package.sh impress

poppler:
	@sh scripts/ensure-system-package.sh poppler

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
