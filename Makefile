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

.PHONY: demo test lint bench bench-peers browser docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python -m seqlens.msa.precompile
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

# `make bench-peers`: the peers (bench extra: tangermeme, captum, logomaker, modisco-lite; and pydca's
# plmDCA as the Potts peer) installed into the venv, the peer benchmarks run at 1 thread, then one
# table of every ratio (out/bench/peers_summary.md). pydca 1.23 pins scipy==1.3.1 and numpy 1.14,
# which do not build on Python 3.11: it is installed without them (its C++ backend builds and runs
# with the venv's numpy and scipy), and a failure leaves the Potts peer out, saying so.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e ".[test,bench]"
	$(BIN)/pip install --quiet --no-deps --no-build-isolation "pydca==1.23" || \
	  echo "pydca did not install: the Potts benchmark runs without its peer"
	touch $(BENCH_STAMP)

bench-peers: $(BENCH_STAMP)
	$(BIN)/python benchmarks/attribution_speed.py --threads 1 --out out/bench/attribution_speed.json
	$(BIN)/python benchmarks/dataset_speed.py --threads 1 --out out/bench
	$(BIN)/python benchmarks/motifs_speed.py --out out/bench/motifs_speed.json
	$(BIN)/python benchmarks/msa_weights_speed.py --peer --threads 1 --out out/bench
	$(BIN)/python benchmarks/potts_speed.py --threads 1,2 --out out/bench
	$(BIN)/python benchmarks/train_overhead.py --out out/bench
	$(BIN)/python benchmarks/motif_discovery.py --n 10000 --patience 3 --modisco --out out/bench/motif_discovery
	$(BIN)/python benchmarks/peers_summary.py out/bench --out out/bench/peers_summary

clean:
	rm -rf $(VENV) out site .pytest_cache .ruff_cache
