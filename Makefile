# Everything a fresh machine needs: `make build` builds the course, `make test` tests the tool.
# Both create .venv, install the package and the system programs they need (Graphviz; Chromium
# for the browser tests, LibreOffice for the slide-tool tests).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed
TESTING := $(VENV)/.installed-test

.PHONY: build test check bench watch serve slides docs typecheck graphviz chromium libreoffice clean

build: $(RUNTIME) graphviz
	$(BIN)/course-assets build

test: $(TESTING) graphviz chromium libreoffice
	$(BIN)/python -m pytest

check: $(RUNTIME)
	$(BIN)/course-assets check

bench: $(TESTING) graphviz
	$(BIN)/python bench/run.py

watch: $(RUNTIME) graphviz
	$(BIN)/course-assets watch

# Builds what is out of date, as `make build` does, then names each chapter's slide decks.
slides: $(RUNTIME) graphviz
	$(BIN)/course-assets slides

# A live preview on http://127.0.0.1:8000/; pass options with SERVE_ARGS="--port 0 --open".
serve: $(RUNTIME) graphviz
	$(BIN)/course-assets serve $(SERVE_ARGS)

# Rewrites the README's command and exit-code tables from the code; the tests fail when they drift.
docs: $(RUNTIME)
	$(BIN)/python scripts/readme_tables.py

# mypy in strict mode over src/ (its settings are in pyproject.toml).
typecheck: $(TESTING)
	$(BIN)/python -m mypy

$(RUNTIME): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "course-assets needs Python 3.11 or newer; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TESTING): $(RUNTIME) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

graphviz:
	@sh scripts/ensure-system-package.sh graphviz

chromium:
	@sh scripts/ensure-system-package.sh chromium

libreoffice:
	@sh scripts/ensure-system-package.sh libreoffice

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
