# Two entry points: `make demo` (the main job) and `make test` (lint + tests, the docs site included).
# Both create .venv on first use; `make docs` builds the documentation site into site/. torch is
# installed first with an exact version so that a machine with the CPU wheel on disk uses it
# instead of pulling CUDA packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: demo test lint bench browser docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

# the study at quick settings; `seqlens study --out out/study` runs the default settings
demo: $(STAMP)
	$(BIN)/seqlens study --quick --out out/study

lint: $(STAMP)
	$(BIN)/ruff check .

# tests/test_docs.py builds the documentation site with warnings as errors, so the docs extra is needed
test: $(STAMP) $(DOCS_STAMP) lint browser
	$(BIN)/python -m pytest -q

# the documentation site (MkDocs + mkdocstrings), warnings as errors, offline; open site/index.html
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e ".[test,docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Headless Chromium renders the report in one test; installed here when we are root on Debian,
# otherwise that test is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  ( [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ) || \
	  echo "chromium not available: the report screenshot test will be skipped"

# benchmarks compare with peers (captum, tangermeme) when the bench extra is installed
bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[test,bench]"
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) out site .pytest_cache .ruff_cache
